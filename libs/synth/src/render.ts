import type { Rng } from '@mitosis/core';
import { createVolume } from '@mitosis/volume';
import type { Volume } from '@mitosis/volume';
import type { ResolvedSynthOptions } from './options';
import type { CellDrawing } from './simulate';
import { dishSize, hasDrift, viewOrigin } from './stage';

// Math's members as module constants: under Jest's vm context every lookup of a global such as
// `Math` inside a hot loop goes through a slow interceptor (measured: 40x slower rendering).
const { PI, ceil, cos, floor, hypot, imul, max, min, round, sin, sqrt } = Math;

/**
 * Phase-contrast look, in fractions of the grey range. The background sits low (real CeTReS.B
 * frames: about 0.17 of 255), flat cells are a little darker than it with a thin bright halo, and
 * rounded (mitotic) cells are bright discs with a strong halo and a dark outer ring.
 */
const backgroundLevel = 0.26;
const bodyLevel = -0.07;
const nucleusLevel = -0.045;
const bodyTexture = 0.04;
const haloLevel = 0.1;
const roundLevel = 0.17;
const roundTexture = 0.08;
const roundEdgeLevel = 0.2;
const roundOuterDark = -0.05;
const roundOuterBright = 0.035;
/** How far outside its outline a cell changes the image, px (halo and outer rings). */
const reach = 7;

const tileSize = 64;
const tileMask = tileSize - 1;

/** (1 - z^2)^2 on [-1, 1], 0 elsewhere: a cheap, smooth, compact stand-in for a Gaussian. */
function bump(z: number): number {
  const q = 1 - z * z;
  return q > 0 ? q * q : 0;
}

/** A periodic smooth random texture (zero mean, unit sd) shared by every cell's interior. */
export function makeTexture(rng: Rng): Float32Array {
  let tile = new Float32Array(tileSize * tileSize);
  for (let i = 0; i < tile.length; i++) tile[i] = rng.normal();
  // Three separable periodic box blurs of radius 2 approximate a Gaussian blur of sd ~2.5 px.
  for (let pass = 0; pass < 3; pass++) {
    const across = new Float32Array(tile.length);
    for (let y = 0; y < tileSize; y++) {
      for (let x = 0; x < tileSize; x++) {
        let s = 0;
        for (let k = -2; k <= 2; k++) s += tile[y * tileSize + ((x + k) & tileMask)];
        across[y * tileSize + x] = s / 5;
      }
    }
    const down = new Float32Array(tile.length);
    for (let y = 0; y < tileSize; y++) {
      for (let x = 0; x < tileSize; x++) {
        let s = 0;
        for (let k = -2; k <= 2; k++) s += across[((y + k) & tileMask) * tileSize + x];
        down[y * tileSize + x] = s / 5;
      }
    }
    tile = down;
  }
  let mean = 0;
  for (const v of tile) mean += v;
  mean /= tile.length;
  let sq = 0;
  for (const v of tile) sq += (v - mean) ** 2;
  const sd = sqrt(sq / tile.length) || 1;
  for (let i = 0; i < tile.length; i++) tile[i] = (tile[i] - mean) / sd;
  return tile;
}

function sampleTexture(tile: Float32Array, x: number, y: number): number {
  const fx = floor(x);
  const fy = floor(y);
  const ax = x - fx;
  const ay = y - fy;
  const x0 = fx & tileMask;
  const y0 = fy & tileMask;
  const x1 = (x0 + 1) & tileMask;
  const y1 = (y0 + 1) & tileMask;
  const top = tile[y0 * tileSize + x0] * (1 - ax) + tile[y0 * tileSize + x1] * ax;
  const bottom = tile[y1 * tileSize + x0] * (1 - ax) + tile[y1 * tileSize + x1] * ax;
  return top * (1 - ay) + bottom * ay;
}

/** A speck of debris on the dish, in dish coordinates. */
interface Speck {
  readonly x: number;
  readonly y: number;
  readonly radius: number;
  readonly strength: number;
}

/** Adds specks, shifted by (-ox, -oy), to a W x H field: each a dark core with a bright rim. */
function drawDebris(field: Float32Array, W: number, H: number, specks: readonly Speck[], ox: number, oy: number): void {
  for (const s of specks) {
    const px = s.x - ox;
    const py = s.y - oy;
    const radius = s.radius;
    const ext = ceil(radius + 3);
    if (px < -ext || py < -ext || px > W + ext || py > H + ext) continue;
    for (let y = max(0, floor(py - ext)); y <= min(H - 1, ceil(py + ext)); y++) {
      for (let x = max(0, floor(px - ext)); x <= min(W - 1, ceil(px + ext)); x++) {
        const d = hypot(x - px, y - py) - radius;
        field[y * W + x] += s.strength * (bump(d / 1.2) - 0.8 * bump((d + radius) / max(radius, 0.8)));
      }
    }
  }
}

/**
 * The empty dish: a level with smooth illumination unevenness (a few low-frequency waves and a
 * vignette) and a sprinkle of small static debris, as on real plates. With drift the debris
 * moves with the dish, so it is returned apart (`specks`, to draw per frame) and left out of the
 * field; without, it is drawn into the field.
 */
export function makeBackground(o: ResolvedSynthOptions, rng: Rng): { field: Float32Array; specks: Speck[] } {
  const { width: W, height: H } = o;
  const field = new Float32Array(W * H);
  const waves = Array.from({ length: 4 }, () => ({
    fx: rng.uniform(-1.2, 1.2) / W,
    fy: rng.uniform(-1.2, 1.2) / H,
    phase: rng.uniform(0, 2 * PI),
    amp: rng.uniform(0.5, 1),
  }));
  const cx = rng.uniform(0.3, 0.7) * W;
  const cy = rng.uniform(0.3, 0.7) * H;
  const r2 = (W * W + H * H) / 4;
  let lo = Infinity;
  let hi = -Infinity;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (const w of waves) v += w.amp * cos(2 * PI * (w.fx * x + w.fy * y) + w.phase);
      v -= 1.5 * (((x - cx) ** 2 + (y - cy) ** 2) / r2);
      field[y * W + x] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  // Scale the unevenness to +-unevenness around the background level.
  const span = hi - lo || 1;
  for (let i = 0; i < field.length; i++) field[i] = backgroundLevel + o.unevenness * ((2 * (field[i] - lo)) / span - 1);

  // Debris: tiny particles over the whole dish (the frame, without drift).
  const dish = dishSize(o);
  const debris = round((dish.width * dish.height) / 6000);
  const specks: Speck[] = [];
  for (let k = 0; k < debris; k++) {
    const x = rng.uniform(0, dish.width);
    const y = rng.uniform(0, dish.height);
    const radius = rng.uniform(0.8, 2.2);
    const strength = rng.uniform(0.02, 0.06);
    specks.push({ x, y, radius, strength });
    // One speck at a time, as the frame was always drawn.
    if (!hasDrift(o)) drawDebris(field, W, H, [specks[k]], 0, 0);
  }
  return { field, specks: hasDrift(o) ? specks : [] };
}

/**
 * The cells of one frame in two layers: `dark` keeps the darkest body over each pixel (two
 * overlapping cells are not twice as dark, and nothing clips to black), `bright` sums the halos
 * and rounded discs. The frame is background + dark + bright.
 */
export interface CellLayers {
  readonly dark: Float32Array;
  readonly bright: Float32Array;
}

/** Draws one cell: flat body and halo blended with the rounded disc by its roundness. */
export function drawCell(layers: CellLayers, W: number, H: number, c: CellDrawing, tile: Float32Array): void {
  const { dark, bright } = layers;
  const A = c.semiMajor;
  const B = c.semiMinor;
  const cosT = cos(c.theta);
  const sinT = sin(c.theta);
  const [h2c, h3c, h4c] = c.hc;
  const [h2s, h3s, h4s] = c.hs;
  const wobble = hypot(h2c, h2s) + hypot(h3c, h3s) + hypot(h4c, h4s);
  const outerA = A * (1 + wobble) + reach;
  const outerB = B * (1 + wobble) + reach;
  // Bounding box of the rotated outer ellipse.
  const ex = sqrt((outerA * cosT) ** 2 + (outerB * sinT) ** 2);
  const ey = sqrt((outerA * sinT) ** 2 + (outerB * cosT) ** 2);
  const x0 = max(0, floor(c.x - ex));
  const x1 = min(W - 1, ceil(c.x + ex));
  const y0 = max(0, floor(c.y - ey));
  const y1 = min(H - 1, ceil(c.y + ey));
  const a = c.roundness;
  const flatWeight = (1 - a) * c.gain * c.fade;
  const roundWeight = a * c.gain * c.fade;
  const invOuterA2 = 1 / (outerA * outerA);
  const invOuterB2 = 1 / (outerB * outerB);
  const taper = c.taper;
  const invA = 1 / A;
  const invB = 1 / B;
  for (let y = y0; y <= y1; y++) {
    const dy = y - c.y;
    let p = y * W + x0;
    for (let x = x0; x <= x1; x++, p++) {
      const dx = x - c.x;
      const u = dx * cosT + dy * sinT;
      const v = -dx * sinT + dy * cosT;
      // Cheap rejection outside the outer ellipse, before the outline maths.
      if (u * u * invOuterA2 + v * v * invOuterB2 > 1) continue;
      const U = u * invA;
      // Capped beyond the tips, or the outline's surroundings would stretch into whiskers.
      const widen = 1 + taper * min(U * U, 1);
      const V = v * invB * widen;
      const rho = sqrt(U * U + V * V);
      let c1 = 1;
      let s1 = 0;
      if (rho > 1e-9) {
        c1 = U / rho;
        s1 = V / rho;
      }
      // cos/sin of 2, 3 and 4 phi by the angle-addition recurrences (no atan2 per pixel).
      const c2 = c1 * c1 - s1 * s1;
      const s2 = 2 * s1 * c1;
      const c3 = c1 * c2 - s1 * s2;
      const s3 = s1 * c2 + c1 * s2;
      const c4 = c2 * c2 - s2 * s2;
      const s4 = 2 * s2 * c2;
      const boundary = 1 + h2c * c2 - h2s * s2 + h3c * c3 - h3s * s3 + h4c * c4 - h4s * s4;
      // Radial distance to the outline in pixels (negative inside).
      const Bw = B / widen;
      const d = (rho - boundary) * sqrt(A * A * c1 * c1 + Bw * Bw * s1 * s1);
      if (d > reach) continue;
      const inside = d < -1.2 ? 1 : d > 1.2 ? 0 : 0.5 - d / 2.4;
      const tex = inside > 0 || a < 1 ? sampleTexture(tile, 0.45 * u + c.texX, 0.45 * v + c.texY) : 0;
      let value = 0;
      if (flatWeight > 0) {
        const nu = (U - c.nucU) / 0.45;
        const nv = (V - c.nucV) / 0.6;
        const nucleus = bump(sqrt(nu * nu + nv * nv));
        value += flatWeight * (inside * (bodyLevel + bodyTexture * tex + nucleusLevel * nucleus) + haloLevel * bump((d - 2) / 4.5) * (0.7 + 0.3 * tex));
      }
      if (roundWeight > 0) {
        value +=
          roundWeight *
          // A finer, stronger mottling than the flat body's: condensed chromatin in the rounded cell.
          (inside * (roundLevel + roundTexture * sampleTexture(tile, u + c.texY, v + c.texX)) +
            roundEdgeLevel * bump((d + 1) / 1.4) +
            roundOuterDark * bump((d - 2.6) / 1.3) +
            roundOuterBright * bump((d - 5) / 1.5));
      }
      if (value < 0) {
        if (value < dark[p]) dark[p] = value;
      } else bright[p] += value;
    }
  }
}

/**
 * A table of standard normal draws: pixel noise picks from it with one uniform draw per pixel,
 * about six times faster than Box-Muller for the millions of pixels of a video.
 */
function normalTable(rng: Rng): Float32Array {
  const table = new Float32Array(1 << 16);
  for (let i = 0; i < table.length; i++) table[i] = rng.normal();
  return table;
}

export interface RenderStreams {
  readonly background: Rng;
  readonly texture: Rng;
  readonly flicker: Rng;
  readonly noise: Rng;
  /** The moving gradient's starting direction (drawn only when there is a gradient). */
  readonly illumination: Rng;
}

/**
 * The light over frame t (0-based) as a per-pixel gain: the ramp's global factor times a
 * linear gradient of amplitude `illuminationGradient` at the corners whose direction starts at
 * a random angle and turns half a turn over the video. Undefined when the light is constant.
 */
function makeIllumination(o: ResolvedSynthOptions, rng: Rng): ((t: number, gain: Float32Array) => void) | undefined {
  if (o.illuminationRamp === 0 && o.illuminationGradient === 0) return undefined;
  const { width: W, height: H, frames } = o;
  const start = o.illuminationGradient > 0 ? rng.uniform(0, 2 * PI) : 0;
  const half = hypot(W - 1, H - 1) / 2;
  return (t, gain) => {
    const progress = frames > 1 ? t / (frames - 1) : 0;
    const level = 1 + o.illuminationRamp * progress;
    const angle = start + PI * progress;
    const gx = (o.illuminationGradient * cos(angle)) / half;
    const gy = (o.illuminationGradient * sin(angle)) / half;
    for (let y = 0; y < H; y++) {
      const row = gy * (y - (H - 1) / 2);
      for (let x = 0; x < W; x++) gain[y * W + x] = level * (1 + row + gx * (x - (W - 1) / 2));
    }
  };
}

/** Draws every frame (background, cells, a little flicker, noise) and quantises to the bit depth. */
export function renderVideo(o: ResolvedSynthOptions, drawings: readonly (readonly CellDrawing[])[], streams: RenderStreams): Volume<Uint8Array | Uint16Array> {
  const { width: W, height: H, frames } = o;
  const { field: background, specks } = makeBackground(o, streams.background);
  const illumination = makeIllumination(o, streams.illumination);
  // Today's arithmetic, operation for operation, when no new look option is set.
  const plain = illumination === undefined && specks.length === 0 && o.contrast === 1;
  const gain = new Float32Array(illumination ? W * H : 0);
  const debris = new Float32Array(specks.length > 0 ? W * H : 0);
  const tile = makeTexture(streams.texture);
  const table = normalTable(streams.noise);
  const volume: Volume<Uint8Array | Uint16Array> = o.bitDepth === 8 ? createVolume(Uint8Array, frames, H, W) : createVolume(Uint16Array, frames, H, W);
  const top = o.bitDepth === 8 ? 255 : 65535;
  const frame = new Float32Array(W * H);
  const layers: CellLayers = { dark: new Float32Array(W * H), bright: new Float32Array(W * H) };
  const size = W * H;
  // Pixel noise: a local mulberry32 seeded from the noise stream picks from the normal table; a
  // closure call per pixel costs more than the whole drawing of the cells.
  let state = streams.noise.int(4294967296) | 0;
  let flicker = 0;
  for (let t = 0; t < frames; t++) {
    // Lamp flicker: a slow AR(1) drift of the global level, well under the cells' contrast.
    flicker = 0.8 * flicker + o.flicker * streams.flicker.normal();
    layers.dark.fill(0);
    layers.bright.fill(0);
    for (const cell of drawings[t]) drawCell(layers, W, H, cell, tile);
    if (plain) {
      for (let i = 0; i < size; i++) frame[i] = background[i] + flicker + layers.dark[i] + layers.bright[i];
    } else {
      if (specks.length > 0) {
        const at = viewOrigin(o, t);
        debris.fill(0);
        drawDebris(debris, W, H, specks, at.x, at.y);
      }
      if (illumination) illumination(t, gain);
      const k = o.contrast;
      for (let i = 0; i < size; i++) {
        // The light multiplies what the dish and the cells transmit; the lamp flicker stays additive, as before.
        const scene = background[i] + (specks.length > 0 ? debris[i] : 0) + k * (layers.dark[i] + layers.bright[i]);
        frame[i] = (illumination ? gain[i] * scene : scene) + flicker;
      }
    }
    for (let i = 0; i < size; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let r = imul(state ^ (state >>> 15), state | 1);
      r ^= r + imul(r ^ (r >>> 7), r | 61);
      const v = (frame[i] + o.noise * table[((r ^ (r >>> 14)) >>> 16) & 0xffff]) * top;
      frame[i] = v <= 0 ? 0 : v >= top ? top : round(v);
    }
    // Float32 holds every 16-bit integer exactly: the copy is the quantisation.
    volume.data.set(frame, t * size);
  }
  return volume;
}
