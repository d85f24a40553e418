import { InvalidInputError, parseFrameRange } from '@mitosis/core';
import { defaultRadius, defaultTh, formatPointsCsv, readPointsCsv, scoreDetections } from '@mitosis/scoring';
import type { MitosisPoint, ScoreReport } from '@mitosis/scoring';
import type { RegisterCommand } from './index';

interface ScoreCommandOptions {
  readonly truth: string;
  readonly detections: string;
  readonly radius: string;
  readonly th: string;
  readonly frames?: string;
  readonly json?: boolean;
  readonly details?: boolean;
}

function parseRadius(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new InvalidInputError(`--radius "${text}" must be a number of pixels >= 0`);
  }
  return value;
}

function parseTh(text: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new InvalidInputError(`--th "${text}" must be a whole number of frames >= 0`);
  return Number(text);
}

/** The JSON answer: the summary always, the per-point lists only when asked for. */
function toJson(report: ScoreReport, details: boolean): Record<string, unknown> {
  const { matches, misses, falseDetections, ...summary } = report;
  return details ? { ...summary, matches, misses, falseDetections } : summary;
}

function pointsBlock(title: string, points: readonly MitosisPoint[]): string {
  if (points.length === 0) return `${title}: none`;
  // The same CSV the inputs use, indented, so a block can be pasted back into a file.
  const csv = formatPointsCsv(points).trimEnd().split('\n');
  return [`${title} (${points.length}):`, ...csv.map((line) => `  ${line}`)].join('\n');
}

function toText(report: ScoreReport, details: boolean): string {
  const window = report.frames ? `, frames ${report.frames.first}..${report.frames.last}` : '';
  const lines = [
    `precision ${report.precision.toFixed(4)}  recall ${report.recall.toFixed(4)}  F1 ${report.f1.toFixed(4)}`,
    `tp ${report.tp}  fp ${report.fp}  fn ${report.fn}  (radius ${report.radius} px, th ${report.th} frames${window})`,
  ];
  if (details) {
    lines.push(pointsBlock('misses', report.misses), pointsBlock('false detections', report.falseDetections));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `mitosis score`: precision, recall and F1 of detections against annotations (SPEC step 9),
 * a thin host around scoreDetections from @mitosis/scoring.
 */
export const registerScore: RegisterCommand = (program) => {
  program
    .command('score')
    .description(
      'Score detections against annotations: a detection is correct within --radius pixels and --th frames ' +
        'of an annotation, each annotation and detection matched at most once (maximum matching).',
    )
    .requiredOption('--truth <csv>', 'annotations, CSV with header frame,x,y (1-based frame, original pixels)')
    .requiredOption('--detections <csv>', 'detections, CSV with header frame,x,y and optional score')
    .option('--radius <px>', 'spatial tolerance in original pixels, inclusive', String(defaultRadius))
    .option('--th <frames>', 'temporal tolerance in frames, inclusive (the paper reports 1 and 3)', String(defaultTh))
    .option('--frames <A:B>', 'score only frames A..B (1-based, inclusive) on both sides, e.g. 111:200')
    .option('--json', 'print one JSON object instead of text')
    .option('--details', 'also list misses and false detections (and the matches, with --json)')
    .action(async (options: ScoreCommandOptions) => {
      const radius = parseRadius(options.radius);
      const th = parseTh(options.th);
      const frames = options.frames === undefined ? undefined : parseFrameRange(options.frames);
      const [truth, detections] = await Promise.all([readPointsCsv(options.truth), readPointsCsv(options.detections)]);
      const report = scoreDetections(truth, detections, { radius, th, frames });
      const details = options.details === true;
      process.stdout.write(options.json ? `${JSON.stringify(toJson(report, details))}\n` : toText(report, details));
    });
};
