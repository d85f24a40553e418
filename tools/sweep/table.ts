/**
 * The paper's Table II in small, as a Markdown table: rows k, columns the number of annotated
 * training frames, each cell "ours th=1 / th=3 (paper th=1 / th=3)".
 */
export interface SweepCell {
  readonly k: number;
  readonly frames: number;
  readonly f1Th1: number;
  readonly f1Th3: number;
  readonly annotations: number;
  readonly detections: number;
  /** The detection threshold the training chose on the annotated frames (absent in older results). */
  readonly threshold?: number;
  /** The vote rule chosen with it (absent in older results). */
  readonly vote?: 'any' | 'mean';
}

/** Table II of the paper (F1 at th = 1 and th = 3) for the cells the sweep covers. */
export const paperTableII: Readonly<Record<number, Readonly<Record<number, readonly [number, number]>>>> = {
  4: { 4: [0.802, 0.837], 6: [0.79, 0.852], 8: [0.789, 0.824], 10: [0.788, 0.812], 14: [0.772, 0.785], 18: [0.806, 0.83], 22: [0.821, 0.841] },
  6: { 6: [0.824, 0.841], 8: [0.835, 0.853], 10: [0.819, 0.854], 14: [0.843, 0.867], 18: [0.859, 0.879], 22: [0.863, 0.885] },
  8: { 8: [0.824, 0.847], 10: [0.836, 0.877], 14: [0.867, 0.895], 18: [0.88, 0.907], 22: [0.87, 0.898] },
  10: { 10: [0.8, 0.839], 14: [0.86, 0.89], 18: [0.873, 0.902], 22: [0.871, 0.896] },
  14: { 14: [0.79, 0.851], 18: [0.85, 0.888], 22: [0.864, 0.902] },
  18: { 18: [0.816, 0.849], 22: [0.87, 0.898] },
  22: { 22: [0.814, 0.882] },
};

const f = (v: number): string => v.toFixed(3);

export function tableIIMarkdown(cells: readonly SweepCell[], ks: readonly number[], frames: readonly number[], recommendedK?: number): string {
  const header = `| k | ${frames.map((n) => `${n} frames`).join(' | ')} |`;
  const rule = `|---|${frames.map(() => '---').join('|')}|`;
  const rows = ks.map((k) => {
    const cols = frames.map((n) => {
      if (n < k) return '-';
      const cell = cells.find((c) => c.k === k && c.frames === n);
      const paper = paperTableII[k]?.[n];
      const ours = cell ? `**${f(cell.f1Th1)} / ${f(cell.f1Th3)}**` : 'not run';
      return paper ? `${ours} (paper ${f(paper[0])} / ${f(paper[1])})` : ours;
    });
    const mark = k === recommendedK ? ' (recommended)' : '';
    return `| ${k}${mark} | ${cols.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}
