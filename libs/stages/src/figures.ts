/**
 * Small raster figures people look at next to the numbers: the histogram of event lengths, the
 * n feature maps of M1 side by side (the paper's Fig. 7), and detections drawn on frames. Pure
 * functions returning RGB buffers; the CLI encodes them as PNG.
 */
export interface RgbImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

type Colour = readonly [number, number, number];

// A 3x5 bitmap font for the digits, enough to label axes without a font engine.
const digitRows: Record<string, readonly string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '010', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
};

function blank(width: number, height: number, colour: Colour): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(colour, i * 3);
  return { rgb, width, height };
}

function setPixel(image: RgbImage, x: number, y: number, colour: Colour): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  image.rgb.set(colour, (Math.floor(y) * image.width + Math.floor(x)) * 3);
}

function fillRect(image: RgbImage, x0: number, y0: number, w: number, h: number, colour: Colour): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) setPixel(image, x, y, colour);
}

function drawNumber(image: RgbImage, text: string, x: number, y: number, scale: number, colour: Colour): void {
  let cx = x;
  for (const ch of text) {
    const rows = digitRows[ch];
    if (rows) {
      rows.forEach((row, ry) => {
        for (let rx = 0; rx < 3; rx++) if (row[rx] === '1') fillRect(image, cx + rx * scale, y + ry * scale, scale, scale, colour);
      });
    }
    cx += 4 * scale;
  }
}

function numberWidth(text: string, scale: number): number {
  return text.length * 4 * scale - scale;
}

/** Bars of the event-length histogram, each labelled with its length below and its count above. */
export function histogramImage(histogram: readonly { length: number; count: number }[], barWidth = 18): RgbImage {
  const scale = 2;
  const pad = 12;
  const plotHeight = 220;
  const bars = Math.max(1, histogram.length);
  const width = pad * 2 + bars * barWidth;
  const height = plotHeight + pad * 2 + 7 * scale * 2;
  const image = blank(width, height, [255, 255, 255]);
  const maxCount = Math.max(1, ...histogram.map((b) => b.count));
  const baseY = pad + 7 * scale + plotHeight;
  histogram.forEach((bin, i) => {
    const h = Math.round((bin.count / maxCount) * (plotHeight - 4));
    const x = pad + i * barWidth;
    fillRect(image, x + 2, baseY - h, barWidth - 4, h, [70, 110, 180]);
    const label = String(bin.length);
    drawNumber(image, label, x + Math.floor((barWidth - numberWidth(label, scale)) / 2), baseY + 4, scale, [0, 0, 0]);
    if (bin.count > 0) {
      const count = String(bin.count);
      drawNumber(image, count, x + Math.floor((barWidth - numberWidth(count, scale)) / 2), baseY - h - 7 * scale, scale, [90, 90, 90]);
    }
  });
  fillRect(image, pad, baseY, bars * barWidth, 1, [0, 0, 0]);
  return image;
}

/**
 * The n feature maps of one frame side by side, each white where it wins the pixel (paper Fig. 7),
 * the original frame first, the chosen normal-cell map framed in green, each map numbered.
 */
export function featureMapMontage(frame: Float32Array, winner: Uint8Array, width: number, height: number, maps: number, chosen: number): RgbImage {
  const gap = 6;
  const top = 16;
  const image = blank((maps + 1) * (width + gap) + gap, height + top + gap, [40, 40, 40]);
  for (let panel = 0; panel <= maps; panel++) {
    const ox = gap + panel * (width + gap);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const v = panel === 0 ? Math.round(Math.min(1, Math.max(0, frame[i] ?? 0)) * 255) : winner[i] === panel - 1 ? 255 : 0;
        setPixel(image, ox + x, top + y, [v, v, v]);
      }
    }
    if (panel > 0) {
      drawNumber(image, String(panel - 1), ox, 3, 2, panel - 1 === chosen ? [90, 220, 90] : [200, 200, 200]);
      if (panel - 1 === chosen) {
        fillRect(image, ox - 2, top - 2, width + 4, 2, [90, 220, 90]);
        fillRect(image, ox - 2, top + height, width + 4, 2, [90, 220, 90]);
        fillRect(image, ox - 2, top - 2, 2, height + 4, [90, 220, 90]);
        fillRect(image, ox + width, top - 2, 2, height + 4, [90, 220, 90]);
      }
    }
  }
  return image;
}

export interface OverlayMark {
  /** Pixel coordinates in the frame given to {@link overlayMarks}. */
  readonly x: number;
  readonly y: number;
  readonly colour: Colour;
}

/** A grey frame upscaled by `zoom` (nearest) with a ring around each mark. */
export function overlayMarks(frame: Float32Array, width: number, height: number, marks: readonly OverlayMark[], zoom = 2, radius = 7): RgbImage {
  const image = blank(width * zoom, height * zoom, [0, 0, 0]);
  for (let y = 0; y < height * zoom; y++) {
    for (let x = 0; x < width * zoom; x++) {
      const v = Math.round(Math.min(1, Math.max(0, frame[Math.floor(y / zoom) * width + Math.floor(x / zoom)] ?? 0)) * 255);
      setPixel(image, x, y, [v, v, v]);
    }
  }
  for (const mark of marks) {
    const cx = (mark.x + 0.5) * zoom;
    const cy = (mark.y + 0.5) * zoom;
    const r = radius * (zoom / 2) + 2;
    for (let a = 0; a < 360; a += 2) {
      const rad = (a * Math.PI) / 180;
      for (const rr of [r, r + 1]) setPixel(image, cx + rr * Math.cos(rad), cy + rr * Math.sin(rad), mark.colour);
    }
  }
  return image;
}
