import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InvalidInputError } from '@mitosis/core';
import { escapeXml, niceTicks, plateHeatmapSvg, timeCourseSvg, viridisColour } from './plate-figures';
import type { HeatmapWell } from './plate-figures';

type XmlNode = Record<string, unknown>;

/** Parses the SVG (failing on malformed XML) and returns every element with this tag, depth first. */
function elements(svg: string, tag: string): XmlNode[] {
  expect(XMLValidator.validate(svg)).toBe(true);
  const root = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', parseTagValue: false }).parse(svg) as XmlNode;
  const found: XmlNode[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node as XmlNode)) {
      if (key === tag) for (const c of Array.isArray(child) ? child : [child]) found.push(typeof c === 'object' && c !== null ? (c as XmlNode) : { '#text': String(c) });
      walk(child);
    }
  };
  walk(root);
  return found;
}

const withClass = (svg: string, tag: string, cls: string) => elements(svg, tag).filter((e) => e['@_class'] === cls);
const texts = (svg: string, cls?: string) =>
  elements(svg, 'text')
    .filter((e) => cls === undefined || e['@_class'] === cls)
    .map((e) => String(e['#text'] ?? ''));

describe('plateHeatmapSvg', () => {
  const wells: HeatmapWell[] = [
    { position: { row: 0, column: 1 }, value: 1.5, status: 'ok' },
    { position: { row: 0, column: 2 }, value: 6.25, status: 'ok' },
    { position: { row: 1, column: 3 }, status: 'ok' },
    { position: { row: 2, column: 4 }, status: 'failed' },
    { position: { row: 7, column: 12 }, status: 'empty' },
  ];
  const options = { title: 'Plate 7 <day 2> & co', valueLabel: 'mitoses per 100 cells per h' };
  const svg = plateHeatmapSvg(wells, { rows: 8, columns: 12 }, options);
  const circle = (well: string) => withClass(svg, 'circle', 'well').find((c) => c['@_data-well'] === well)!;

  it('draws every well of a 96- or 384-well plate with its row letters and column numbers', () => {
    expect(withClass(svg, 'circle', 'well')).toHaveLength(96);
    expect(texts(svg, 'row-label')).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
    expect(texts(svg, 'column-label')).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
    const big = plateHeatmapSvg(wells, { rows: 16, columns: 24 }, options);
    expect(withClass(big, 'circle', 'well')).toHaveLength(384);
    expect(texts(big, 'row-label').at(-1)).toBe('P');
    expect(texts(big, 'column-label').at(-1)).toBe('24');
  });

  it('colours wells by value, the max apart from the min, ends matching the scale', () => {
    expect(circle('A01')['@_fill']).toBe(viridisColour(0));
    expect(circle('A02')['@_fill']).toBe(viridisColour(1));
    expect(circle('A01')['@_fill']).not.toBe(circle('A02')['@_fill']);
    expect(texts(svg, 'colour-min')).toEqual(['1.5']);
    expect(texts(svg, 'colour-max')).toEqual(['6.25']);
    expect(texts(svg, 'value-label')).toEqual(['mitoses per 100 cells per h']);
  });

  it('crosses failed wells and lists them; draws empty and unlisted wells as outlines, wells without a value in grey', () => {
    expect(
      elements(svg, 'path')
        .filter((p) => p['@_class'] === 'failed-cross')
        .map((p) => p['@_data-well']),
    ).toEqual(['C04']);
    expect(texts(svg, 'failed-list')).toEqual(['Failed wells: C04']);
    expect(circle('H12')['@_fill']).toBe('none');
    expect(circle('D05')).toMatchObject({ '@_fill': 'none', '@_data-status': 'empty' });
    expect(circle('B03')['@_fill']).toBe('#d9d9d9');
  });

  it('writes the title with XML escaped', () => {
    expect(svg).toContain('Plate 7 &lt;day 2&gt; &amp; co');
    expect(texts(svg, 'title')).toEqual(['Plate 7 <day 2> & co']);
  });

  it('refuses wells outside the plate, twice over or with a non-finite value', () => {
    const format = { rows: 8, columns: 12 };
    expect(() => plateHeatmapSvg([{ position: { row: 8, column: 1 }, status: 'ok' }], format, options)).toThrow(InvalidInputError);
    expect(() => plateHeatmapSvg([wells[0], wells[0]], format, options)).toThrow(/A01 appears twice/);
    expect(() => plateHeatmapSvg([{ ...wells[0], value: NaN }], format, options)).toThrow(/A01: value NaN/);
  });
});

describe('viridisColour', () => {
  it('runs from dark purple to yellow through the stops', () => {
    expect([viridisColour(0), viridisColour(0.5), viridisColour(1)]).toEqual(['#440154', '#21918c', '#fde725']);
    // Halfway between #440154 and #3b528b.
    expect(viridisColour(0.125)).toBe('#402a70');
  });
});

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten and covers the range', () => {
    expect(niceTicks(0, 1140)).toEqual({ ticks: [0, 500, 1000, 1500], decimals: 0 });
    expect(niceTicks(0, 0.87)).toEqual({ ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], decimals: 1 });
    // A flat range is widened by half its value each way before choosing the step.
    expect(niceTicks(3, 3).ticks).toEqual([1, 2, 3, 4, 5]);
    expect(niceTicks(0, 0).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('timeCourseSvg', () => {
  const series = [
    {
      condition: 'DMSO <0.1%> & co',
      points: [
        { x: 60, mean: 2.5, sd: 0.5 },
        { x: 0, mean: 1 },
        { x: 120, mean: 3.2, sd: 1 },
      ],
    },
    { condition: 'nocodazole 5 "uM"', points: [{ x: 0, mean: 0.5 }] },
  ];
  const options = { title: 'Mitotic rate over time', xLabel: 'time (min)', yLabel: 'mitoses per 100 cells per h' };
  const svg = timeCourseSvg(series, options);

  it('draws one line per condition with markers and SD bars, and names each in the legend', () => {
    expect(withClass(svg, 'path', 'series')).toHaveLength(2);
    expect(withClass(svg, 'circle', 'marker')).toHaveLength(4);
    expect(withClass(svg, 'path', 'sd-bars')).toHaveLength(1);
    expect(
      elements(svg, 'g')
        .filter((g) => g['@_class'] === 'condition')
        .map((g) => g['@_data-condition']),
    ).toEqual(['DMSO <0.1%> & co', 'nocodazole 5 "uM"']);
    expect(
      elements(svg, 'g')
        .filter((g) => g['@_class'] === 'legend-entry')
        .map((g) => (g['text'] as XmlNode)['#text']),
    ).toEqual(['DMSO <0.1%> & co', 'nocodazole 5 "uM"']);
  });

  it('draws the line through the points in x order', () => {
    const d = String(withClass(svg, 'path', 'series')[0]['@_d']);
    const xs = [...d.matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
    expect(xs).toHaveLength(3);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it('labels the axes with the title and units, ticks increasing from zero', () => {
    expect(texts(svg, 'title')).toEqual(['Mitotic rate over time']);
    expect(texts(svg, 'axis-label')).toEqual(['time (min)', 'mitoses per 100 cells per h']);
    const axisTicks = (axis: string) => {
      const group = elements(svg, 'g').find((g) => g['@_class'] === axis)!;
      return (group['text'] as XmlNode[]).filter((t) => t['@_class'] === 'tick').map((t) => Number(t['#text']));
    };
    const [xTicks, yTicks] = [axisTicks('x-axis'), axisTicks('y-axis')];
    for (const t of [xTicks, yTicks]) {
      expect(t.length).toBeGreaterThanOrEqual(3);
      expect(t[0]).toBe(0);
      t.slice(1).forEach((v, i) => expect(v).toBeGreaterThan(t[i]));
    }
    expect(xTicks.at(-1)).toBeGreaterThanOrEqual(120);
    expect(yTicks.at(-1)).toBeGreaterThanOrEqual(4.2);
  });

  it('draws a titled "no data" figure when there are no points', () => {
    for (const empty of [[], [{ condition: 'DMSO', points: [] }]]) {
      const figure = timeCourseSvg(empty, options);
      expect(texts(figure, 'no-data')).toEqual(['no data']);
      expect(texts(figure, 'title')).toEqual(['Mitotic rate over time']);
      expect(withClass(figure, 'path', 'series')).toHaveLength(0);
    }
  });

  it('refuses non-finite points, naming the condition', () => {
    expect(() => timeCourseSvg([{ condition: 'DMSO', points: [{ x: 0, mean: Infinity }] }], options)).toThrow(InvalidInputError);
    expect(() => timeCourseSvg([{ condition: 'DMSO', points: [{ x: 0, mean: 1, sd: -1 }] }], options)).toThrow(/"DMSO" point #1/);
  });

  it('escapes markup in condition names', () => {
    expect(svg).toContain('DMSO &lt;0.1%&gt; &amp; co');
    expect(svg).not.toContain('<0.1%>');
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});
