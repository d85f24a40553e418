// Written by hand: a heatmap of circles and a line chart need no charting library, and SVG carries real text for labels, titles and units.
import { InvalidInputError } from '@mitosis/core';
import type { WellStatus } from './readouts';
import type { PlateFormat, WellPosition } from './wells';
import { rowLetters, wellLabel } from './wells';

export interface HeatmapWell {
  readonly position: WellPosition;
  /** Absent for an ok well without a value (no cells). */
  readonly value?: number;
  readonly status: WellStatus;
}

export interface HeatmapOptions {
  readonly title: string;
  /** The value's name with its unit, e.g. 'mitoses per 100 cells per h'. */
  readonly valueLabel: string;
}

export interface TimeCourseSeries {
  readonly condition: string;
  readonly points: readonly { readonly x: number; readonly mean: number; readonly sd?: number }[];
}

export interface TimeCourseOptions {
  readonly title: string;
  /** 'time (min)' or 'frame'. */
  readonly xLabel: string;
  readonly yLabel: string;
}

const font = 'font-family="sans-serif" font-size="12"';
// Viridis sampled at 0, 1/4, 1/2, 3/4 and 1: perceptually even and readable in greyscale and by colour-blind readers.
const viridis = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];
// Okabe-Ito, reordered so the first colours stay apart on white; cycles past eight conditions.
const conditionColours = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const failedColour = '#c00000';
const outlineColour = '#999999';
const noValueColour = '#d9d9d9';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${font}>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Three significant digits, without exponent notation for plate-sized numbers. */
function formatValue(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** Colour at t in [0, 1], interpolated in RGB between the viridis stops. */
export function viridisColour(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (viridis.length - 1);
  const i = Math.min(viridis.length - 2, Math.floor(x));
  const [a, b] = [viridis[i], viridis[i + 1]].map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));
  return `#${a
    .map((c, k) =>
      Math.round(c + (b[k] - c) * (x - i))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

function checkFormat(format: Pick<PlateFormat, 'rows' | 'columns'>): void {
  if (!Number.isInteger(format.rows) || format.rows < 1 || !Number.isInteger(format.columns) || format.columns < 1) {
    throw new InvalidInputError(`plate format ${format.rows} x ${format.columns} must be positive integers`);
  }
}

/**
 * A plate heatmap: one circle per well, coloured by value on a viridis scale with a labelled
 * colour bar; failed wells crossed and listed; wells not in the manifest (or empty) as outlines;
 * ok wells without a value in grey.
 */
export function plateHeatmapSvg(perWell: readonly HeatmapWell[], format: Pick<PlateFormat, 'rows' | 'columns'>, options: HeatmapOptions): string {
  checkFormat(format);
  const byLabel = new Map<string, HeatmapWell>();
  perWell.forEach((w, index) => {
    const { row, column } = w.position;
    if (!Number.isInteger(row) || !Number.isInteger(column) || row < 0 || row >= format.rows || column < 1 || column > format.columns) {
      throw new InvalidInputError(`heatmap well #${index + 1}: row ${row}, column ${column} is outside the ${format.rows} x ${format.columns} plate`);
    }
    if (w.value !== undefined && !Number.isFinite(w.value)) throw new InvalidInputError(`heatmap well ${wellLabel(w.position)}: value ${w.value} is not finite`);
    if (byLabel.has(wellLabel(w.position))) throw new InvalidInputError(`heatmap well ${wellLabel(w.position)} appears twice`);
    byLabel.set(wellLabel(w.position), w);
  });
  const values = perWell.filter((w) => w.status === 'ok' && w.value !== undefined).map((w) => w.value as number);
  const min = values.length > 0 ? Math.min(...values) : undefined;
  const max = values.length > 0 ? Math.max(...values) : undefined;
  const colourOf = (v: number) => viridisColour(min === undefined || max === undefined || max === min ? 0.5 : (v - min) / (max - min));

  const pitch = format.columns > 12 ? 24 : 40;
  const radius = pitch * 0.42;
  const left = 40;
  const top = 64;
  const gridWidth = format.columns * pitch;
  const gridHeight = format.rows * pitch;
  const centre = (row: number, column: number) => ({ x: round(left + (column - 0.5) * pitch), y: round(top + (row + 0.5) * pitch) });
  const body: string[] = [`<text class="title" x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`];

  for (let column = 1; column <= format.columns; column++) {
    body.push(`<text class="column-label" x="${centre(0, column).x}" y="${top - 8}" text-anchor="middle">${column}</text>`);
  }
  for (let row = 0; row < format.rows; row++) {
    body.push(`<text class="row-label" x="${left - 12}" y="${centre(row, 1).y + 4}" text-anchor="middle">${rowLetters(row)}</text>`);
    for (let column = 1; column <= format.columns; column++) {
      const label = wellLabel({ row, column });
      const well = byLabel.get(label);
      const status = well?.status ?? 'empty';
      const { x, y } = centre(row, column);
      const value = status === 'ok' ? well?.value : undefined;
      const fill = status === 'empty' ? 'none' : status === 'failed' ? '#ffffff' : value === undefined ? noValueColour : colourOf(value);
      const tip = status === 'ok' ? (value === undefined ? 'no value' : `${formatValue(value)} ${options.valueLabel}`) : well === undefined ? 'not in the manifest' : status;
      body.push(
        `<circle class="well" data-well="${label}" data-status="${status}" cx="${x}" cy="${y}" r="${round(radius)}" fill="${fill}" stroke="${outlineColour}"><title>${escapeXml(`${label}: ${tip}`)}</title></circle>`,
      );
      if (status === 'failed') {
        const d = round(radius * 0.7);
        body.push(
          `<path class="failed-cross" data-well="${label}" d="M${x - d} ${y - d}L${x + d} ${y + d}M${x - d} ${y + d}L${x + d} ${y - d}" stroke="${failedColour}" stroke-width="2"/>`,
        );
      }
    }
  }

  // Colour bar: max at the top, beside the grid.
  const barX = left + gridWidth + 24;
  body.push(
    '<defs><linearGradient id="colour-scale" x1="0" y1="1" x2="0" y2="0">',
    ...viridis.map((c, i) => `<stop offset="${i / (viridis.length - 1)}" stop-color="${c}"/>`),
    '</linearGradient></defs>',
    `<rect class="colour-bar" x="${barX}" y="${top}" width="16" height="${gridHeight}" fill="url(#colour-scale)" stroke="${outlineColour}"/>`,
    `<text class="colour-max" x="${barX + 22}" y="${top + 10}">${max === undefined ? 'no values' : formatValue(max)}</text>`,
    `<text class="colour-min" x="${barX + 22}" y="${top + gridHeight}">${min === undefined ? '' : formatValue(min)}</text>`,
    `<text class="value-label" transform="translate(${barX + 70} ${top + gridHeight / 2}) rotate(90)" text-anchor="middle">${escapeXml(options.valueLabel)}</text>`,
  );

  // Legend under the grid: the symbols, then the failed wells by name.
  let y = top + gridHeight + 28;
  const legendKey = (symbol: (cx: number) => string, text: string, dx: number) => `${symbol(left + dx + 6)}<text x="${left + dx + 18}" y="${y + 4}">${escapeXml(text)}</text>`;
  const legend = [
    legendKey((cx) => `<circle cx="${cx}" cy="${y}" r="6" fill="none" stroke="${outlineColour}"/>`, 'empty or not in the manifest', 0),
    legendKey((cx) => `<circle cx="${cx}" cy="${y}" r="6" fill="${noValueColour}" stroke="${outlineColour}"/>`, 'no value (no cells)', 220),
    legendKey((cx) => `<path d="M${cx - 5} ${y - 5}L${cx + 5} ${y + 5}M${cx - 5} ${y + 5}L${cx + 5} ${y - 5}" stroke="${failedColour}" stroke-width="2"/>`, 'failed', 380),
  ];
  body.push(`<g class="legend">${legend.join('')}</g>`);
  const failed = perWell
    .filter((w) => w.status === 'failed')
    .map((w) => w.position)
    .sort((a, b) => a.row - b.row || a.column - b.column)
    .map(wellLabel);
  const perLine = 16;
  for (let i = 0; i < failed.length; i += perLine) {
    y += 18;
    body.push(`<text class="failed-list" x="${left}" y="${y + 4}">${i === 0 ? 'Failed wells: ' : ''}${failed.slice(i, i + perLine).join(', ')}</text>`);
  }
  return svg(barX + 90, y + 20, body);
}

/** Ticks at 1, 2 or 5 times a power of ten, about `target` of them, covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; decimals: number } {
  if (hi === lo) [lo, hi] = lo === 0 ? [0, 1] : [lo - Math.abs(lo) / 2, hi + Math.abs(hi) / 2];
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(decimals)));
  return { ticks, decimals };
}

/**
 * Per-condition time courses: a line with markers per condition, SD as error bars, axes with
 * nice ticks and a legend. With no points at all it draws the title and 'no data', so a plate
 * whose wells all failed still gets its report.
 */
export function timeCourseSvg(series: readonly TimeCourseSeries[], options: TimeCourseOptions): string {
  series.forEach((s) =>
    s.points.forEach((p, i) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.mean) || (p.sd !== undefined && !(Number.isFinite(p.sd) && p.sd >= 0))) {
        throw new InvalidInputError(`time course "${s.condition}" point #${i + 1}: x ${p.x}, mean ${p.mean}, sd ${p.sd} must be finite (sd >= 0)`);
      }
    }),
  );
  const width = 640;
  const left = 64;
  const top = 48;
  const plotWidth = 380;
  const plotHeight = 280;
  const height = Math.max(top + plotHeight + 56, top + 18 * series.length + 20);
  const title = `<text class="title" x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`;
  const points = series.flatMap((s) => s.points);
  if (points.length === 0) {
    return svg(width, height, [title, `<text class="no-data" x="${left + plotWidth / 2}" y="${top + plotHeight / 2}" text-anchor="middle">no data</text>`]);
  }

  const xs = niceTicks(Math.min(...points.map((p) => p.x)), Math.max(...points.map((p) => p.x)));
  // Rates start from zero so bars of different conditions compare by height.
  const ys = niceTicks(Math.min(0, ...points.map((p) => p.mean - (p.sd ?? 0))), Math.max(...points.map((p) => p.mean + (p.sd ?? 0))));
  const [x0, x1] = [xs.ticks[0], xs.ticks.at(-1) as number];
  const [y0, y1] = [ys.ticks[0], ys.ticks.at(-1) as number];
  const px = (x: number) => round(left + ((x - x0) / (x1 - x0)) * plotWidth);
  const py = (y: number) => round(top + plotHeight - ((y - y0) / (y1 - y0)) * plotHeight);
  const bottom = top + plotHeight;

  const body = [title, `<g class="x-axis"><line x1="${left}" y1="${bottom}" x2="${left + plotWidth}" y2="${bottom}" stroke="#000000"/>`];
  for (const t of xs.ticks) {
    body.push(
      `<line x1="${px(t)}" y1="${bottom}" x2="${px(t)}" y2="${bottom + 5}" stroke="#000000"/><text class="tick" x="${px(t)}" y="${bottom + 18}" text-anchor="middle">${t.toFixed(xs.decimals)}</text>`,
    );
  }
  body.push(`<text class="axis-label" x="${left + plotWidth / 2}" y="${bottom + 40}" text-anchor="middle">${escapeXml(options.xLabel)}</text></g>`);
  body.push(`<g class="y-axis"><line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#000000"/>`);
  for (const t of ys.ticks) {
    body.push(
      `<line x1="${left - 5}" y1="${py(t)}" x2="${left}" y2="${py(t)}" stroke="#000000"/><text class="tick" x="${left - 8}" y="${py(t) + 4}" text-anchor="end">${t.toFixed(ys.decimals)}</text>`,
    );
  }
  body.push(`<text class="axis-label" transform="translate(${left - 48} ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text></g>`);

  series.forEach((s, i) => {
    const colour = conditionColours[i % conditionColours.length];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const name = escapeXml(s.condition);
    if (sorted.length > 0) {
      const line = sorted.map((p, k) => `${k === 0 ? 'M' : 'L'}${px(p.x)} ${py(p.mean)}`).join('');
      const bars = sorted
        .filter((p) => p.sd !== undefined && p.sd > 0)
        .map((p) => {
          const [x, lo, hi] = [px(p.x), py(p.mean - (p.sd ?? 0)), py(p.mean + (p.sd ?? 0))];
          return `M${x} ${lo}L${x} ${hi}M${x - 3} ${lo}L${x + 3} ${lo}M${x - 3} ${hi}L${x + 3} ${hi}`;
        })
        .join('');
      body.push(
        `<g class="condition" data-condition="${name}">`,
        bars === '' ? '' : `<path class="sd-bars" d="${bars}" stroke="${colour}" fill="none"/>`,
        `<path class="series" d="${line}" stroke="${colour}" stroke-width="2" fill="none"/>`,
        ...sorted.map((p) => `<circle class="marker" cx="${px(p.x)}" cy="${py(p.mean)}" r="3" fill="${colour}"/>`),
        '</g>',
      );
    }
    const ly = top + 8 + 18 * i;
    body.push(
      `<g class="legend-entry"><line x1="${left + plotWidth + 20}" y1="${ly}" x2="${left + plotWidth + 40}" y2="${ly}" stroke="${colour}" stroke-width="2"/><text x="${left + plotWidth + 46}" y="${ly + 4}">${name}${sorted.length === 0 ? ' (no data)' : ''}</text></g>`,
    );
  });
  body.push(`<text class="sd-note" x="${left + plotWidth + 20}" y="${top + 8 + 18 * series.length + 4}" font-size="10">bars: SD over wells</text>`);
  return svg(width, height, body);
}
