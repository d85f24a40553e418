import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import {
  defaultDeathDuration,
  defaultMitosisDuration,
  defaultTransientDuration,
  generateSyntheticVideo,
  resolveSynthOptions,
  synthDefaults,
  writeSyntheticVideo,
} from '@mitosis/synth';
import type { BitDepth, DurationDistribution, SyntheticTruth, SynthOptions } from '@mitosis/synth';
import type { LengthStatistics } from '@mitosis/volume';
import type { RegisterCommand } from './index';

/** Commander's view of the flags: every value a string, absent when not given (library defaults apply). */
type SynthFlags = Partial<Record<string, string>> & { readonly out: string; readonly json?: boolean };

/** SynthOptions keys (as resolveSynthOptions names them) -> flags, for error messages. */
const flagOf: Record<string, string> = {
  seed: '--seed',
  frames: '--frames',
  width: '--size width',
  height: '--size height',
  initialCells: '--cells',
  cellRadius: '--radius',
  speed: '--speed',
  persistence: '--persistence',
  growth: '--growth',
  minCycleFrames: '--min-cycle',
  mitosisRate: '--mitosis-rate',
  deathRate: '--death-rate',
  transientRate: '--transient-rate',
  entryRate: '--entry-rate',
  noise: '--noise',
  unevenness: '--unevenness',
  bitDepth: '--bit-depth',
  coverage: '--density',
  contactInhibition: '--contact-inhibition',
  eventLengthP75: '--event-p75',
  contrast: '--contrast',
  'drift.x': '--drift x',
  'drift.y': '--drift y',
  flicker: '--flicker',
  illuminationRamp: '--illumination-ramp',
  illuminationGradient: '--illumination-gradient',
};

/** `--density dense`: the share of the frame the first frame's cells cover. */
export const denseCoverage = 0.5;

/** 'mitosisDuration.min' -> '--mitosis-duration-min'; the scalar options from the table. */
function flagName(option: string): string {
  const known = flagOf[option];
  if (known !== undefined) return known;
  return `--${option.replace(/[A-Z.]/g, (c) => (c === '.' ? '-' : `-${c.toLowerCase()}`))}`;
}

const numberPattern = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A flag's number, or undefined when the flag is absent; ranges are the library's to check. */
function numberFlag(flags: SynthFlags, key: string, flag: string): number | undefined {
  const text = flags[key];
  if (text === undefined) return undefined;
  if (!numberPattern.test(text.trim())) throw new InvalidInputError(`${flag} "${text}" is not a number`);
  return Number(text);
}

/** `--size WIDTHxHEIGHT`, like image tools: 320x256 is 320 columns by 256 rows. */
export function parseSize(text: string): { width: number; height: number } {
  const match = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(text);
  if (!match) throw new InvalidInputError(`--size "${text}" must be WIDTHxHEIGHT in pixels, e.g. 320x256`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** `--density sparse|dense|FRACTION`: sparse is the default layout, dense or a fraction set `coverage`. */
export function parseDensity(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'sparse') return undefined;
  if (t === 'dense') return denseCoverage;
  if (!numberPattern.test(t)) throw new InvalidInputError(`--density "${text}" must be sparse, dense or the covered fraction of the frame, e.g. 0.4`);
  return Number(t);
}

/** `--drift DX,DY` in px per frame, e.g. 0.5,-0.25. */
export function parseDrift(text: string): { x: number; y: number } {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 2 || !parts.every((p) => numberPattern.test(p))) {
    throw new InvalidInputError(`--drift "${text}" must be DX,DY in px per frame, e.g. 0.5,-0.25`);
  }
  return { x: Number(parts[0]), y: Number(parts[1]) };
}

function durationFlags(flags: SynthFlags, kind: 'mitosis' | 'death' | 'transient'): Partial<DurationDistribution> | undefined {
  const d: { mean?: number; sd?: number; min?: number; max?: number } = {};
  for (const part of ['mean', 'sd', 'min', 'max'] as const) {
    const key = `${kind}Duration${part[0].toUpperCase()}${part.slice(1)}`;
    const value = numberFlag(flags, key, `--${kind}-duration-${part}`);
    if (value !== undefined) d[part] = value;
  }
  return Object.keys(d).length > 0 ? d : undefined;
}

/** Builds SynthOptions from the flags: only what was given, so the library's defaults hold. */
export function synthOptionsFromFlags(flags: SynthFlags): SynthOptions {
  const size = flags['size'] === undefined ? {} : parseSize(flags['size']);
  const scalar = (key: string, option: keyof SynthOptions, flag: string): Partial<SynthOptions> => {
    const value = numberFlag(flags, key, flag);
    return value === undefined ? {} : { [option]: value };
  };
  const mitosisDuration = durationFlags(flags, 'mitosis');
  const deathDuration = durationFlags(flags, 'death');
  const transientDuration = durationFlags(flags, 'transient');
  const coverage = flags['density'] === undefined ? undefined : parseDensity(flags['density']);
  return {
    ...size,
    ...scalar('seed', 'seed', '--seed'),
    ...scalar('frames', 'frames', '--frames'),
    ...scalar('cells', 'initialCells', '--cells'),
    ...scalar('radius', 'cellRadius', '--radius'),
    ...scalar('speed', 'speed', '--speed'),
    ...scalar('persistence', 'persistence', '--persistence'),
    ...scalar('growth', 'growth', '--growth'),
    ...scalar('minCycle', 'minCycleFrames', '--min-cycle'),
    ...scalar('mitosisRate', 'mitosisRate', '--mitosis-rate'),
    ...scalar('deathRate', 'deathRate', '--death-rate'),
    ...scalar('transientRate', 'transientRate', '--transient-rate'),
    ...scalar('entryRate', 'entryRate', '--entry-rate'),
    ...scalar('noise', 'noise', '--noise'),
    ...scalar('unevenness', 'unevenness', '--unevenness'),
    ...(flags['bitDepth'] === undefined ? {} : { bitDepth: numberFlag(flags, 'bitDepth', '--bit-depth') as BitDepth }),
    ...(mitosisDuration ? { mitosisDuration } : {}),
    ...(deathDuration ? { deathDuration } : {}),
    ...(transientDuration ? { transientDuration } : {}),
    ...(coverage === undefined ? {} : { coverage }),
    ...scalar('contactInhibition', 'contactInhibition', '--contact-inhibition'),
    ...scalar('eventP75', 'eventLengthP75', '--event-p75'),
    ...scalar('contrast', 'contrast', '--contrast'),
    ...(flags['drift'] === undefined ? {} : { drift: parseDrift(flags['drift']) }),
    ...scalar('flicker', 'flicker', '--flicker'),
    ...scalar('illuminationRamp', 'illuminationRamp', '--illumination-ramp'),
    ...scalar('illuminationGradient', 'illuminationGradient', '--illumination-gradient'),
  };
}

function stats(name: string, s: LengthStatistics): string {
  if (s.count === 0) return `${name} none`;
  const f = (v: number) => String(Math.round(v * 100) / 100);
  return `${name} n=${s.count} mean ${f(s.mean)} sd ${f(s.std)} p50 ${f(s.p50)} p75 ${f(s.p75)} (range ${s.min}-${s.max})`;
}

/** The one-paragraph summary printed after writing. */
export function describeSynthetic(dir: string, truth: SyntheticTruth): string {
  const o = truth.options;
  const c = truth.counts;
  const d = truth.durations;
  return (
    `Synthesised ${o.frames} frames of ${o.width}x${o.height} (${o.bitDepth}-bit, seed ${o.seed}) into ${dir}: ` +
    `${c.mitoses} mitoses, ${c.deaths} deaths, ${c.transientRoundings} transient round-ups; ` +
    `cells ${c.cellsFirstFrame} in frame 1, ${c.cellsLastFrame} in frame ${o.frames}. ` +
    `Frames out of normal appearance per event${o.eventLengthP75 === null ? '' : ` (target p75 ${o.eventLengthP75})`}: ` +
    `${stats('all', d.all)}; ${stats('mitosis', d.mitosis)}; ` +
    `${stats('death', d.death)}; ${stats('transient', d['transient-rounding'])}. ` +
    `Files: video.tif, mitoses.csv, events.csv, preview.png, truth.json.\n`
  );
}

const dd = (d: DurationDistribution, part: keyof DurationDistribution): string => `[${d[part]}]`;

/**
 * `mitosis synth`: a synthetic phase-contrast video with exact ground truth (mitoses and the
 * lengths of all cell events), a thin host around @mitosis/synth.
 */
export const registerSynth: RegisterCommand = (program) => {
  const D = synthDefaults;
  const command = program
    .command('synth')
    .description(
      'Synthesise a phase-contrast time-lapse video with known ground truth: writes video.tif, mitoses.csv ' +
        '(frame,x,y), events.csv (kind,cell,start,end,duration,x,y), preview.png and truth.json into --out. ' +
        'Rates are per cell per frame; durations count the frames a cell is out of its normal appearance.',
    )
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--frames <n>', `number of frames [${D.frames}]`)
    .option('--size <WxH>', `frame WIDTHxHEIGHT in pixels, like image tools [${D.width}x${D.height}]`)
    .option('--seed <n>', `random seed: the same options and seed give the same files [${D.seed}]`)
    .option('--cells <n>', 'cells in the first frame [one per 3400 px^2]')
    .option(
      '--density <sparse|dense|f>',
      `first frame's layout: sparse (--cells), dense (touching cells covering ${denseCoverage} of the frame) or the covered fraction, 0.01..0.8 [sparse]`,
    )
    .option(
      '--contact-inhibition <c>',
      'crowding 0..1: cells press as ellipses, stop pushing into and align with neighbours, stop growing when hemmed in [1 with --density, else 0]',
    )
    .option('--radius <px>', 'equivalent radius of a new cell [12, at most an eighth of the shorter side]')
    .option('--speed <px>', `rms speed of a free cell per frame [${D.speed}]`)
    .option('--persistence <p>', `persistence of the random walk, 0..<1 [${D.persistence}]`)
    .option('--growth <g>', `relative radius growth per frame [${D.growth}]`)
    .option('--min-cycle <frames>', `frames after birth before a daughter may divide [${D.minCycleFrames}]`)
    .option('--mitosis-rate <p>', `mitosis hazard [${D.mitosisRate}]`);
  for (const [kind, defaults, what] of [
    ['mitosis', defaultMitosisDuration, 'rounding to daughters flattening'],
    ['death', defaultDeathDuration, 'shrinking and brightening before disappearing'],
    ['transient', defaultTransientDuration, 'round-up without division'],
  ] as const) {
    if (kind === 'death') command.option('--death-rate <p>', `death hazard [${D.deathRate}]`);
    if (kind === 'transient') command.option('--transient-rate <p>', `transient round-up (distractor) hazard [${D.transientRate}]`);
    command
      .option(`--${kind}-duration-mean <frames>`, `${kind} duration (${what}): mean of a rounded normal ${dd(defaults, 'mean')}`)
      .option(`--${kind}-duration-sd <frames>`, `${kind} duration: standard deviation ${dd(defaults, 'sd')}`)
      .option(`--${kind}-duration-min <frames>`, `${kind} duration: lower bound, redrawn below ${dd(defaults, 'min')}`)
      .option(`--${kind}-duration-max <frames>`, `${kind} duration: upper bound, redrawn above ${dd(defaults, 'max')}`);
  }
  command
    .option(
      '--event-p75 <frames>',
      'target p75 of all event lengths, 2..40: scales the three duration laws by one factor so that truth.json durations.all.p75 lands near it [unset]',
    )
    .option('--entry-rate <n>', `cells entering through the borders per frame [${D.entryRate}]`)
    .option('--noise <sd>', `pixel noise sd, fraction of the grey range [${D.noise}]`)
    .option('--unevenness <a>', `illumination unevenness, fraction of the grey range [${D.unevenness}]`)
    .option('--contrast <a>', `amplitude of the cells' phase signal relative to the default look, 0.1..3 [${D.contrast}]`)
    .option('--drift <dx,dy>', 'stage drift: the field (cells and debris) moves by DX,DY px per frame, each in -4..4 [0,0]')
    .option('--flicker <sd>', `lamp flicker, innovation sd of the AR(1) global level, 0..0.05 [${D.flicker}]`)
    .option('--illumination-ramp <r>', `the light times 1 + r over the video (-0.3: last frame 30% darker), -0.9..2 [${D.illuminationRamp}]`)
    .option('--illumination-gradient <a>', `moving uneven light: a gradient of +-a at the corners turning half a turn over the video, 0..0.9 [${D.illuminationGradient}]`)
    .option('--bit-depth <8|16>', `grey levels of video.tif [${D.bitDepth}]`)
    .option('--json', 'print truth.json instead of the summary paragraph')
    .action(async (flags: SynthFlags) => {
      // Check everything before any work, naming options by their flags.
      const options = resolveSynthOptions(synthOptionsFromFlags(flags), flagName);
      const video = generateSyntheticVideo(options);
      const dir = path.resolve(flags.out);
      const { truth } = await writeSyntheticVideo(dir, video);
      process.stdout.write(flags.json ? `${JSON.stringify(truth, null, 2)}\n` : describeSynthetic(dir, truth));
    });
};
