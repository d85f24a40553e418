import type { Command } from 'commander';
import path from 'node:path';
import { InvalidInputError, MitosisError, isMitosisError } from '@mitosis/core';
import type { PlateManifest } from '@mitosis/plate';
import { loadPlate, wellLabel } from '@mitosis/plate';
import { computeCommand } from '../runtime';
import type { RegisterCommand } from './index';
import type { PlateRunOptions } from './plate-run';
import { runPlate } from './plate-run';

interface PlateCheckOptions {
  readonly wells?: string;
  readonly json?: boolean;
}

function parseWells(text: string | undefined): 96 | 384 | undefined {
  if (text === undefined) return undefined;
  if (text === '96' || text === '384') return Number(text) as 96 | 384;
  throw new InvalidInputError(`--wells "${text}" must be 96 or 384`);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function range(values: readonly number[], unit = ''): string {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const round = (v: number): string => String(Number(v.toPrecision(4)));
  return min === max ? `${round(min)}${unit}` : `${round(min)}-${round(max)}${unit}`;
}

/** The plate in a few lines and a map of the wells (fields per well, `.` for none). */
export function plateSummary(plate: PlateManifest): string {
  const { entries, format } = plate;
  const wells = new Map<string, number>();
  for (const e of entries) wells.set(e.well, (wells.get(e.well) ?? 0) + 1);
  const wellsOf = (condition: string): number => new Set(entries.filter((e) => e.condition === condition).map((e) => e.well)).size;
  const intervals = entries.flatMap((e) => (e.frameIntervalMin === undefined ? [] : [e.frameIntervalMin]));
  const pixels = entries.flatMap((e) => (e.pixelSizeUm === undefined ? [] : [e.pixelSizeUm]));
  const lines = [
    `plate       ${plate.source} (${plate.layout === 'folder' ? 'plate folder' : 'manifest'}), ${format.wells}-well plate (${format.rows} x ${format.columns})`,
    `wells       ${plural(wells.size, 'well')}, ${plural(entries.length, 'video')} (fields)`,
    `conditions  ${plate.conditions.map((c) => `${c === '' ? '(none given)' : c} (${plural(wellsOf(c), 'well')})`).join(', ')}`,
    `frames      ${range(entries.map((e) => e.frames))} per video, ${[...new Set(entries.map((e) => `${e.width}x${e.height}`))].join(', ')} px`,
    `interval    ${intervals.length === 0 ? 'not stated (rates per hour need frame_interval_min)' : `${range(intervals, ' min')} (${intervals.length} of ${entries.length} videos)`}`,
    `pixel size  ${pixels.length === 0 ? 'not stated' : `${range(pixels, ' µm')} (${pixels.length} of ${entries.length} videos)`}`,
  ];
  if (plate.ignored.length > 0) lines.push(`left out    ${plate.ignored.join(', ')} (no well in the name)`);
  const width = format.columns >= 10 ? 3 : 2;
  lines.push('', `   ${Array.from({ length: format.columns }, (_, c) => String(c + 1).padStart(width)).join('')}`);
  for (let row = 0; row < format.rows; row++) {
    const cells = Array.from({ length: format.columns }, (_, c) => String(wells.get(wellLabel({ row, column: c + 1 })) ?? '.').padStart(width));
    lines.push(`  ${String.fromCharCode(65 + row)}${cells.join('')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `mitosis plate check MANIFEST|FOLDER`: a plate read and checked before any work, every bad
 * row named at once (exit 3), the layout shown otherwise.
 */
export const registerPlate: RegisterCommand = (program) => {
  const plate: Command = program.command('plate').description('Plates: many videos (wells and fields of a multi-well plate) from a manifest CSV or a plate folder.');
  plate
    .command('check')
    .description('Read and check a plate before any work: every bad row (unknown well, missing file, duplicate well and field, unreadable video) named at once.')
    .argument('<plate>', 'a manifest CSV (well,field,condition,path[,frame_interval_min,pixel_size_um]) or a folder (one sub-folder per well, or videos named like B07_f2.tif)')
    .option('--wells <n>', 'the plate format, 96 or 384 (default: the smallest that holds every well)')
    .option('--json', 'print the checked plate as one JSON object')
    .action(async (source: string, options: PlateCheckOptions) => {
      const wells = parseWells(options.wells);
      const checked = await loadPlate(source, wells === undefined ? {} : { wells });
      process.stdout.write(options.json === true ? `${JSON.stringify(checked)}\n` : plateSummary(checked));
    });
  computeCommand(plate, 'run')
    .description(
      'A plate from videos to readouts: M1 and M2 trained once on a sample field and applied to every field, M3 trained once on the annotated frames, detection and cell counts on every field; writes readouts.csv (per well and time bin), plate.json, heatmap.svg and time-course.svg.',
    )
    .argument('<plate>', 'a manifest CSV or a plate folder (as plate check reads it)')
    .requiredOption(
      '--annotations <csv>',
      'annotated mitoses: well,field,frame,x,y (field may be left out for 1); M3 trains on every annotated field, on frames from its first to its last annotation',
    )
    .requiredOption('--out <dir>', 'output folder')
    .option('--wells <n>', 'the plate format, 96 or 384 (default: the smallest that holds every well)')
    .option(
      '--sample <fields>',
      'the fields M1 and M2 train on, their frames end to end: WELL or WELL/FIELD, comma-separated (default: the first annotated field and the first field of every other condition)',
    )
    .option('--k <n>', "M3's sequence length (default: the plate's, from every field's event lengths pooled)")
    .option('--bin-frames <n>', 'time bins of the readouts, in frames (default 10)')
    .option('--bin-minutes <n>', 'time bins in minutes, where every video states its frame interval')
    .option('--m1-iterations <n>', "M1's training updates (default: analyze's)")
    .option('--m2-iterations <n>', "M2's training updates (default: analyze's)")
    .option('--m3-iterations <n>', "M3's training updates (default: train's)")
    .option('--seed <n>', 'seed of every training', '1')
    .action(async (source: string, options: PlateRunOptions & { wells?: string }) => {
      const wells = parseWells(options.wells);
      const { failed, fields, firstFailure, out } = await runPlate(source, { ...options, ...(wells === undefined ? {} : { wells }) });
      // A failed field does not stop the plate; the exit code is that of the first failure's kind, after every output is written.
      if (firstFailure !== undefined) {
        throw new MitosisError(
          isMitosisError(firstFailure) ? firstFailure.kind : 'INTERNAL',
          `${failed} of ${fields} fields failed (their reasons are in ${path.join(out, 'plate.json')})`,
        );
      }
    });
};
