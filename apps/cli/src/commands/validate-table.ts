/** One video of the validation panel, run once: what the pipeline chose and how well it detected. */
export interface ValidationRow {
  readonly case: string;
  readonly seed: number;
  /** ok: analyze, train and detect ran; failed: one of them threw (`error`); skipped: no input (`error` says why). */
  readonly status: 'ok' | 'failed' | 'skipped';
  /** The stage that threw, when one did. */
  readonly failedStage?: 'input' | 'analyze' | 'train' | 'detect';
  readonly error?: string;
  /** Frames M1 and M2 learnt from (1-based, inclusive). */
  readonly frames: { readonly first: number; readonly last: number };
  /** Frames detection was scored on. */
  readonly detectionFrames?: { readonly first: number; readonly last: number };
  readonly factor?: number;
  readonly factorChosenBy?: 'given' | 'cell-size';
  /** The cells' measured radius in original pixels. */
  readonly cellRadius?: number;
  readonly normalMap?: number;
  readonly mapMargin?: number;
  readonly mapConfident?: boolean;
  /** Every map M2 was trained on, in order; `rejected` says why one was not used. */
  readonly mapsTried?: readonly { readonly map: number; readonly rejected?: string }[];
  readonly k?: number;
  readonly kRuns?: readonly number[];
  readonly kMin?: number;
  readonly kMax?: number;
  /** p75 of the simulated event lengths (synthetic cases only). */
  readonly simulatedP75?: number;
  readonly annotatedFrames?: { readonly first: number; readonly last: number };
  /** Annotated mitoses in the scored frames, and detections there. */
  readonly mitosesScored?: number;
  readonly detections?: number;
  readonly th1?: Score;
  readonly th3?: Score;
  readonly warnings: readonly string[];
  /** Wall-clock seconds of each stage (each includes its own ingest of the video). */
  readonly seconds: { readonly analyze?: number; readonly train?: number; readonly detect?: number };
}

export interface Score {
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
}

type Cell = string | number | boolean | undefined;

const range = (r: { first: number; last: number } | undefined): string | undefined => (r === undefined ? undefined : `${r.first}-${r.last}`);
const fixed =
  (digits: number) =>
  (v: number | undefined): string | undefined =>
    v === undefined || !Number.isFinite(v) ? undefined : v.toFixed(digits);

/** The table's columns, in order: the CSV header and the markdown header are these names. */
export const validationColumns: readonly { readonly name: string; readonly value: (row: ValidationRow) => Cell }[] = [
  { name: 'case', value: (r) => r.case },
  { name: 'seed', value: (r) => r.seed },
  { name: 'status', value: (r) => (r.failedStage ? `${r.status} (${r.failedStage})` : r.status) },
  { name: 'frames', value: (r) => range(r.frames) },
  { name: 'detection_frames', value: (r) => range(r.detectionFrames) },
  { name: 'factor', value: (r) => r.factor },
  { name: 'factor_chosen_by', value: (r) => r.factorChosenBy },
  { name: 'cell_radius_px', value: (r) => fixed(1)(r.cellRadius) },
  { name: 'normal_map', value: (r) => r.normalMap },
  { name: 'map_margin', value: (r) => fixed(3)(r.mapMargin) },
  { name: 'map_confident', value: (r) => r.mapConfident },
  { name: 'maps_tried', value: (r) => r.mapsTried?.map((m) => (m.rejected === undefined ? String(m.map) : `${m.map} rejected`)).join('; ') },
  { name: 'k', value: (r) => r.k },
  { name: 'k_runs', value: (r) => r.kRuns?.join(' ') },
  { name: 'k_min', value: (r) => r.kMin },
  { name: 'k_max', value: (r) => r.kMax },
  { name: 'simulated_p75', value: (r) => fixed(2)(r.simulatedP75) },
  { name: 'k_minus_p75_abs', value: (r) => (r.k === undefined || r.simulatedP75 === undefined ? undefined : fixed(2)(Math.abs(r.k - r.simulatedP75))) },
  { name: 'annotated_frames', value: (r) => range(r.annotatedFrames) },
  { name: 'annotated_count', value: (r) => (r.annotatedFrames === undefined ? undefined : r.annotatedFrames.last - r.annotatedFrames.first + 1) },
  { name: 'mitoses_scored', value: (r) => r.mitosesScored },
  { name: 'detections', value: (r) => r.detections },
  { name: 'f1_th1', value: (r) => fixed(3)(r.th1?.f1) },
  { name: 'precision_th1', value: (r) => fixed(3)(r.th1?.precision) },
  { name: 'recall_th1', value: (r) => fixed(3)(r.th1?.recall) },
  { name: 'f1_th3', value: (r) => fixed(3)(r.th3?.f1) },
  { name: 'precision_th3', value: (r) => fixed(3)(r.th3?.precision) },
  { name: 'recall_th3', value: (r) => fixed(3)(r.th3?.recall) },
  { name: 'warnings', value: (r) => r.warnings.length },
  { name: 'analyze_s', value: (r) => fixed(1)(r.seconds.analyze) },
  { name: 'train_s', value: (r) => fixed(1)(r.seconds.train) },
  { name: 'detect_s', value: (r) => fixed(1)(r.seconds.detect) },
  { name: 'error', value: (r) => r.error },
];

/** A row's cells as text, in column order; absent values (a stage that did not run) are empty. */
export function formatRow(row: ValidationRow): string[] {
  return validationColumns.map((c) => {
    const v = c.value(row);
    return v === undefined ? '' : String(v);
  });
}

/** RFC 4180: a field holding a comma, quote or line break is quoted, its quotes doubled. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function validationCsv(rows: readonly ValidationRow[]): string {
  const lines = [validationColumns.map((c) => c.name), ...rows.map(formatRow)].map((cells) => cells.map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

/** A pipe or a line break would break the markdown row. */
function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function validationMarkdown(rows: readonly ValidationRow[]): string {
  const header = validationColumns.map((c) => c.name);
  const lines = [header, header.map(() => '---'), ...rows.map(formatRow)].map((cells) => `| ${cells.map(markdownCell).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
