import type { Rng } from '@mitosis/core';
import { durationLaws } from './durations';
import type { DurationDistribution, ResolvedSynthOptions } from './options';
import { crowd, repel, roundFactor, wrapHalfTurn } from './contact';
import { dishSize, hasDrift, viewOrigin } from './stage';

// Math's members as module constants: under Jest's vm context every lookup of a global such as
// `Math` inside a hot loop goes through a slow interceptor.
const { PI, SQRT2, abs, atan2, cos, exp, hypot, max, min, round, sin, sqrt } = Math;

/** What happens to a cell while it is out of its normal appearance. */
export type SyntheticEventKind = 'mitosis' | 'death' | 'transient-rounding';

/**
 * One simulated cell event, the ground truth of M2's event lengths (SPEC step 6).
 * `start`..`end` are the 1-based frames the cell (for a mitosis: the mother, then its daughters)
 * is out of its normal appearance, so `duration = end - start + 1`; the frames just before and
 * just after are normal (or, after a death, the cell is gone). `x`, `y` in original pixels: for a
 * mitosis the annotated point (midpoint of the daughters when they separate), otherwise the cell
 * centre.
 */
export interface SyntheticEvent {
  readonly kind: SyntheticEventKind;
  readonly cellId: number;
  readonly start: number;
  readonly end: number;
  readonly duration: number;
  readonly x: number;
  readonly y: number;
}

/** A mitosis annotation as in the benchmark's mitoses.csv: 1-based frame, column x, row y. */
export interface MitosisAnnotation {
  readonly frame: number;
  readonly x: number;
  readonly y: number;
}

/**
 * One cell as drawn in one frame: the ground truth of the normal-cell map (M1). `roundness` 0 is
 * a normal flat cell, 1 a fully rounded bright disc; `phase` names the event the cell is in. The
 * centre of a cell entering through a border may lie outside the frame.
 */
export interface SyntheticCell {
  readonly frame: number;
  readonly cellId: number;
  readonly x: number;
  readonly y: number;
  /** Equivalent radius as drawn, sqrt(long x short semi-axis), px. */
  readonly radius: number;
  readonly roundness: number;
  readonly phase: 'normal' | SyntheticEventKind;
}

/** Everything the renderer needs to draw one cell in one frame. */
export interface CellDrawing {
  readonly x: number;
  readonly y: number;
  /** Orientation of the long axis, radians. */
  readonly theta: number;
  readonly semiMajor: number;
  readonly semiMinor: number;
  /** Irregular outline: boundary(phi) = 1 + sum_k (hc[k] cos k phi - hs[k] sin k phi), k = 2..4. */
  readonly hc: readonly [number, number, number];
  readonly hs: readonly [number, number, number];
  /** Spindle shape: the width shrinks by 1 / (1 + taper U^2) along the long axis (pointed ends). */
  readonly taper: number;
  readonly roundness: number;
  /** Contrast multiplier of the rounded look (mitoses brightest, transient round-ups less). */
  readonly gain: number;
  /** Fading of a dying cell, 1 = full contrast. */
  readonly fade: number;
  /** Where the cell samples the shared interior texture, so its texture moves with it. */
  readonly texX: number;
  readonly texY: number;
  /** Nucleus centre in the ellipse's normalised coordinates. */
  readonly nucU: number;
  readonly nucV: number;
}

export interface Simulation {
  /** drawings[t]: the cells of frame t (0-based). */
  readonly drawings: CellDrawing[][];
  readonly cells: SyntheticCell[];
  readonly events: SyntheticEvent[];
  readonly mitoses: MitosisAnnotation[];
}

/** An abnormal appearance in progress: per-frame roundness and size, then what follows it. */
interface Program {
  readonly kind: SyntheticEventKind;
  readonly begin: number;
  readonly roundness: readonly number[];
  readonly size: readonly number[];
  readonly gain: number;
  readonly fade: readonly number[];
  readonly then: 'normal' | 'remove' | 'split';
  /** Daughters drift apart along this unit vector (mitosis only). */
  readonly drift?: { readonly dx: number; readonly dy: number };
  /** The event this appearance belongs to (to fill in the annotation at the split). */
  readonly event: MutableEvent;
}

interface MutableEvent {
  kind: SyntheticEventKind;
  cellId: number;
  begin: number;
  duration: number;
  x: number;
  y: number;
  /** 0-based frame where the daughters first show as two bodies (mitosis). */
  split: number;
  /** Outside the drifting view for its whole length: simulated, not part of the truth. */
  hidden: boolean;
}

interface Cell {
  readonly id: number;
  /** The cell's own stream (motion, shape): other cells' fates do not reshuffle it. */
  readonly rng: Rng;
  x: number;
  y: number;
  vx: number;
  vy: number;
  theta: number;
  elongation: number;
  readonly baseElongation: number;
  readonly taper: number;
  radius: number;
  readonly amp: [number, number, number];
  readonly phase: [number, number, number];
  readonly texX: number;
  readonly texY: number;
  readonly nucU: number;
  readonly nucV: number;
  /** Frame of birth (0-based); initial cells get a random earlier birth. */
  readonly bornAt: number;
  /** First frame of the current normal stretch. */
  normalSince: number;
  entering: boolean;
  program: Program | undefined;
  /** Neighbours touching it in the last crowding pass (contact inhibition only). */
  contacts: number;
}

/** Gap between the two daughter discs on the frame they first show as two bodies, px. */
const splitGap = 3;
/** Speed at which daughters drift apart while still round, px per frame each. */
const daughterDrift = 1.5;
/** Cells do not grow beyond this multiple of the initial radius. */
const maxGrowth = 1.5;

/** Normal law rounded to whole frames and truncated to [min, max] by redrawing. */
export function drawDuration(rng: Rng, d: DurationDistribution): number {
  for (let attempt = 0; attempt < 64; attempt++) {
    const v = round(d.mean + d.sd * rng.normal());
    if (v >= d.min && v <= d.max) return v;
  }
  // A mean far outside the bounds: fall back to the nearest bound rather than loop for ever.
  return min(d.max, max(d.min, round(d.mean)));
}

/**
 * Frames the daughters stay abnormal after a mitosis of total abnormal length D (the rest is the
 * mother rounding up): about a third, 1 to 3 frames, as in real phase-contrast sequences where the
 * daughters flatten within a few frames.
 */
export function daughterFrames(duration: number): number {
  return min(3, max(1, round(duration / 3)), duration - 1);
}

/** Roundness while a cell rounds up: retracting on the first frames, then a full disc. */
function roundingUp(frames: number): number[] {
  return Array.from({ length: frames }, (_, j) => (j === 0 ? 0.6 : j === 1 ? 0.85 : 1));
}

function poisson(rng: Rng, mean: number): number {
  const limit = exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

/**
 * Runs the cell population over all frames: motion (persistent random walk with soft repulsion),
 * growth, events (mitosis, death, transient round-up) and entries through the borders.
 */
export function simulateCells(o: ResolvedSynthOptions, root: Rng): Simulation {
  // One stream per concern, forked in a fixed order: changing one option reshuffles little else.
  const layout = root.fork();
  const hazards = root.fork();
  const mitosisDurations = root.fork();
  const deathDurations = root.fork();
  const transientDurations = root.fork();
  const entries = root.fork();
  const cellStreams = root.fork();

  // Cells live in dish coordinates; the frame is a window on the dish (the dish without drift).
  const { cellRadius: r0, frames } = o;
  const { width: W, height: H } = dishSize(o);
  const drifting = hasDrift(o);
  const origin = (t: number): { x: number; y: number } => (drifting ? viewOrigin(o, t) : { x: 0, y: 0 });
  const crowding = o.contactInhibition > 0;
  const cells: Cell[] = [];
  let nextId = 1;

  const newCell = (x: number, y: number, radius: number, bornAt: number, theta?: number): Cell => {
    const rng = cellStreams.fork();
    const baseElongation = rng.uniform(2, 3.6);
    const angle = rng.uniform(0, 2 * PI);
    const speedAxis = o.speed / SQRT2;
    const cell: Cell = {
      id: nextId++,
      rng,
      x,
      y,
      vx: speedAxis * rng.normal(),
      vy: speedAxis * rng.normal(),
      theta: theta ?? angle,
      elongation: baseElongation,
      baseElongation,
      taper: rng.uniform(0.3, 1.5),
      radius,
      amp: [rng.uniform(0.04, 0.16), rng.uniform(0.02, 0.1), rng.uniform(0.01, 0.06)],
      phase: [rng.uniform(0, 2 * PI), rng.uniform(0, 2 * PI), rng.uniform(0, 2 * PI)],
      texX: rng.uniform(0, 64),
      texY: rng.uniform(0, 64),
      nucU: rng.uniform(-0.3, 0.3),
      nucV: rng.uniform(-0.15, 0.15),
      bornAt,
      normalSince: bornAt,
      entering: false,
      program: undefined,
      contacts: 0,
    };
    cells.push(cell);
    return cell;
  };

  // Initial cells: spread out (rejection sampling on a minimum distance), random ages so that
  // some may divide at once. A drifting view sweeps a larger dish, seeded at the same density.
  const initialCells = drifting ? round((o.initialCells * W * H) / (o.width * o.height)) : o.initialCells;
  // A dense layout cannot keep 2 radii between centres: the crowding passes below separate it.
  const spacing = o.coverage === null ? 2 * r0 : r0;
  for (let i = 0; i < initialCells; i++) {
    let x = 0;
    let y = 0;
    for (let attempt = 0; attempt < 200; attempt++) {
      x = layout.uniform(0, W);
      y = layout.uniform(0, H);
      if (cells.every((c) => (c.x - x) ** 2 + (c.y - y) ** 2 > spacing ** 2)) break;
    }
    const cell = newCell(x, y, r0 * layout.uniform(0.85, 1.2), -1 - layout.int(2 * o.minCycleFrames + 1));
    cell.normalSince = -10;
  }
  // A crowded first frame: let the cells settle into touching, not overlapping, positions.
  if (crowding) for (let k = 0; k < 12; k++) crowd(cells, o.contactInhibition, W, H);

  const events: MutableEvent[] = [];
  const drawings: CellDrawing[][] = [];
  const observations: SyntheticCell[] = [];
  const margin = (c: Cell): number => 1.5 * c.radius + 4;

  const ones = (n: number): number[] => new Array<number>(n).fill(1);

  const startEvent = (c: Cell, kind: SyntheticEventKind, duration: number, t: number, hidden: boolean): void => {
    const at = origin(t);
    const event: MutableEvent = { kind, cellId: c.id, begin: t, duration, x: drifting ? c.x - at.x : c.x, y: drifting ? c.y - at.y : c.y, split: -1, hidden };
    events.push(event);
    c.vx = 0;
    c.vy = 0;
    if (kind === 'mitosis') {
      // Retracts and rounds up into a bright disc; the daughters take the last frames.
      const rounding = duration - daughterFrames(duration);
      c.program = { kind, begin: t, event, then: 'split', gain: 1, roundness: roundingUp(rounding), size: ones(rounding), fade: ones(rounding) };
    } else if (kind === 'death') {
      // Shrinks, brightens, fades on its last frame, then is gone.
      c.program = {
        kind,
        begin: t,
        event,
        then: 'remove',
        gain: 1.15,
        roundness: roundingUp(duration),
        size: Array.from({ length: duration }, (_, j) => 1 - (0.45 * j) / max(1, duration - 1)),
        fade: Array.from({ length: duration }, (_, j) => (j === duration - 1 && duration > 1 ? 0.55 : 1)),
      };
    } else {
      // Rounds up less brightly than a mitosis and flattens back without dividing.
      c.program = {
        kind,
        begin: t,
        event,
        then: 'normal',
        gain: 0.85,
        roundness: Array.from({ length: duration }, (_, j) => (j === 0 ? 0.6 : j === duration - 1 && duration > 2 ? 0.7 : 0.9)),
        size: ones(duration),
        fade: ones(duration),
      };
    }
  };

  const split = (mother: Cell, program: Program, t: number): void => {
    const event = program.event;
    const frames = event.duration - program.roundness.length;
    const axis = mother.rng.uniform(0, PI);
    const dx = cos(axis);
    const dy = sin(axis);
    // Area is shared: each daughter has 1/sqrt(2) of the mother's radius, at least 0.6 r0.
    const radius = max(0.6 * r0, mother.radius / SQRT2);
    const half = roundFactor * radius + splitGap / 2;
    // Round on the split frame, flattening over the next ones.
    const roundness = Array.from({ length: frames }, (_, j) => (frames === 1 ? 1 : 1 - (0.3 * j) / (frames - 1)));
    const pair: Cell[] = [];
    for (const sign of [1, -1]) {
      // Daughters flatten across the division axis, side by side rather than tip to tip.
      const theta = axis + PI / 2 + 0.4 * mother.rng.normal();
      const d = newCell(mother.x + sign * half * dx, mother.y + sign * half * dy, radius, t, theta);
      const drift = { dx: sign * dx, dy: sign * dy };
      d.program = { kind: 'mitosis', begin: t, event, then: 'normal', gain: 1, roundness, size: ones(frames), fade: ones(frames), drift };
      pair.push(d);
    }
    // The annotation: where and when the two daughters are first two bodies (SPEC step 7 labels).
    event.split = t;
    const at = origin(t);
    event.x = (pair[0].x + pair[1].x) / 2 - at.x;
    event.y = (pair[0].y + pair[1].y) / 2 - at.y;
    cells.splice(cells.indexOf(mother), 1);
  };

  // The laws as eventLengthP75 scaled them (unchanged without it).
  const { mitosis: mitosisLaw, death: deathLaw, 'transient-rounding': transientLaw } = durationLaws(o);
  const durationFor = (kind: SyntheticEventKind): number =>
    kind === 'mitosis' ? drawDuration(mitosisDurations, mitosisLaw) : kind === 'death' ? drawDuration(deathDurations, deathLaw) : drawDuration(transientDurations, transientLaw);

  /**
   * Where an event of a still cell stands with respect to the drifting view over frames t to
   * t + duration: inside it (with the same margin as the dish borders) throughout, outside it
   * by more than the cell's reach throughout (simulated but hidden), or straddling its edge
   * (not started: its length could not be seen whole).
   */
  const visibility = (c: Cell, t: number, duration: number): 'inside' | 'hidden' | 'straddling' => {
    const m = margin(c);
    const out = 3 * c.radius + 10;
    let inside = true;
    let hidden = true;
    for (const at of [origin(t), origin(t + duration)]) {
      const x = c.x - at.x;
      const y = c.y - at.y;
      inside &&= x >= m && x <= o.width - m && y >= m && y <= o.height - m;
      hidden &&= x < -out || x > o.width + out || y < -out || y > o.height + out;
    }
    return inside ? 'inside' : hidden ? 'hidden' : 'straddling';
  };

  const speedAxis = o.speed / SQRT2;
  const innovation = sqrt(1 - o.persistence * o.persistence) * speedAxis;

  for (let t = 0; t < frames; t++) {
    if (t > 0) {
      // 1. Programs that ran their course: split, removal or back to normal.
      for (const c of [...cells]) {
        const p = c.program;
        if (p === undefined || t - p.begin < p.roundness.length) continue;
        c.program = undefined;
        if (p.then === 'split') split(c, p, t);
        else if (p.then === 'remove') cells.splice(cells.indexOf(c), 1);
        else {
          c.normalSince = t;
          if (p.drift) {
            c.vx = p.drift.dx * o.speed * 0.7;
            c.vy = p.drift.dy * o.speed * 0.7;
          }
        }
      }

      // 2. New events: one hazard draw per normal cell per frame.
      for (const c of [...cells]) {
        if (c.program !== undefined) continue;
        const u = hazards.next();
        let kind: SyntheticEventKind | undefined;
        if (u < o.mitosisRate) kind = 'mitosis';
        else if (u < o.mitosisRate + o.deathRate) kind = 'death';
        else if (u < o.mitosisRate + o.deathRate + o.transientRate) kind = 'transient-rounding';
        if (kind === undefined) continue;
        const duration = durationFor(kind);
        const m = margin(c);
        const eligible =
          !c.entering &&
          t - c.normalSince >= 2 &&
          (kind !== 'mitosis' || t - c.bornAt >= o.minCycleFrames) &&
          c.x >= m &&
          c.x <= W - m &&
          c.y >= m &&
          c.y <= H - m &&
          // The event and one normal frame after it fit in the video, so its length is exact.
          t + duration <= frames - 1;
        if (!eligible) continue;
        const seen = drifting ? visibility(c, t, duration) : 'inside';
        if (seen !== 'straddling') startEvent(c, kind, duration, t, seen === 'hidden');
      }

      // 3. Motion of free cells: persistent random walk, long axis following the motion, slow
      // shape changes and growth. Cells in an event stay put (rounded cells detach).
      for (const c of cells) {
        const p = c.program;
        if (p !== undefined) {
          if (p.drift && t > p.begin) {
            c.x += p.drift.dx * daughterDrift;
            c.y += p.drift.dy * daughterDrift;
          }
          continue;
        }
        const rng = c.rng;
        c.vx = o.persistence * c.vx + innovation * rng.normal();
        c.vy = o.persistence * c.vy + innovation * rng.normal();
        if (c.entering) {
          // Keep heading inwards until fully inside.
          const m = margin(c);
          const inward = 0.5 * o.speed + 0.3;
          if (c.x < m) c.vx = max(c.vx, inward);
          if (c.x > W - m) c.vx = min(c.vx, -inward);
          if (c.y < m) c.vy = max(c.vy, inward);
          if (c.y > H - m) c.vy = min(c.vy, -inward);
        }
        c.x += c.vx;
        c.y += c.vy;
        const v = hypot(c.vx, c.vy);
        const follow = o.speed > 0 ? 0.2 * min(1, v / o.speed) : 0;
        c.theta += follow * wrapHalfTurn(atan2(c.vy, c.vx) - c.theta) + 0.03 * rng.normal();
        c.elongation = min(4, max(1.3, c.elongation + 0.05 * (c.baseElongation - c.elongation) + 0.05 * rng.normal()));
        for (let k = 0; k < 3; k++) c.phase[k] += 0.08 * rng.normal();
        if (!crowding) c.radius = min(maxGrowth * r0, c.radius * (1 + o.growth));
        else if (c.contacts > 4) {
          // Confluent cells get smaller as the monolayer packs (down to 0.6 of a new cell).
          c.radius = max(0.6 * r0, c.radius * (1 - o.growth * o.contactInhibition));
        } else {
          // Contact inhibition of growth: a cell with room grows, a hemmed-in one does not.
          const room = 1 - o.contactInhibition * min(1, c.contacts / 3);
          c.radius = min(maxGrowth * r0, c.radius * (1 + o.growth * room));
        }
      }

      // 4. Crowding: touching cells press as ellipses without overlapping much.
      if (crowding) crowd(cells, o.contactInhibition, W, H);
      // 4'. Soft repulsion: overlapping cells push each other apart; cells in an event do not move.
      else repel(cells);

      // 5. Borders: free cells bounce softly; entering ones become ordinary once inside.
      for (const c of cells) {
        if (c.program) continue;
        if (c.entering) {
          const m = margin(c);
          if (c.x >= m && c.x <= W - m && c.y >= m && c.y <= H - m) c.entering = false;
          continue;
        }
        const m = 0.3 * c.radius;
        if (c.x < m) [c.x, c.vx] = [m, abs(c.vx)];
        if (c.x > W - m) [c.x, c.vx] = [W - m, -abs(c.vx)];
        if (c.y < m) [c.y, c.vy] = [m, abs(c.vy)];
        if (c.y > H - m) [c.y, c.vy] = [H - m, -abs(c.vy)];
      }

      // 6. Entries through a random border point, proportionally to the border lengths.
      const arriving = poisson(entries, o.entryRate);
      for (let k = 0; k < arriving; k++) {
        const radius = r0 * entries.uniform(0.85, 1.2);
        const s = entries.uniform(0, 2 * (W + H));
        const out = 0.8 * radius;
        let x: number;
        let y: number;
        if (s < W) [x, y] = [s, -out];
        else if (s < 2 * W) [x, y] = [s - W, H + out];
        else if (s < 2 * W + H) [x, y] = [-out, s - 2 * W];
        else [x, y] = [W + out, s - 2 * W - H];
        const c = newCell(x, y, radius, t - o.minCycleFrames);
        c.entering = true;
        c.normalSince = t - 10;
      }
    }

    // 7. Record what is drawn in this frame, in the frame's coordinates.
    const drawn: CellDrawing[] = [];
    const at = origin(t);
    for (const c of cells) {
      const x = drifting ? c.x - at.x : c.x;
      const y = drifting ? c.y - at.y : c.y;
      // Off the drifting view by more than the cell's reach: neither drawn nor observed.
      const out = 3 * c.radius + 10;
      if (drifting && (x < -out || x > o.width + out || y < -out || y > o.height + out)) continue;
      const p = c.program;
      const j = p ? t - p.begin : 0;
      const a = p ? p.roundness[j] : 0;
      const size = p ? p.size[j] : 1;
      const sq = sqrt(c.elongation);
      const roundRadius = roundFactor * c.radius * size;
      const semiMajor = (1 - a) * c.radius * sq + a * roundRadius;
      const semiMinor = ((1 - a) * c.radius) / sq + a * roundRadius;
      const flat = 1 - a;
      drawn.push({
        x,
        y,
        theta: c.theta,
        semiMajor,
        semiMinor,
        hc: [flat * c.amp[0] * cos(c.phase[0]), flat * c.amp[1] * cos(c.phase[1]), flat * c.amp[2] * cos(c.phase[2])],
        hs: [flat * c.amp[0] * sin(c.phase[0]), flat * c.amp[1] * sin(c.phase[1]), flat * c.amp[2] * sin(c.phase[2])],
        taper: flat * c.taper,
        roundness: a,
        gain: p ? p.gain : 1,
        fade: p ? p.fade[j] : 1,
        texX: c.texX,
        texY: c.texY,
        nucU: c.nucU,
        nucV: c.nucV,
      });
      // Observed (the truth) when its centre is within a radius of the frame, as entering cells are without drift.
      if (drifting && (x < -c.radius || x > o.width + c.radius || y < -c.radius || y > o.height + c.radius)) continue;
      observations.push({
        frame: t + 1,
        cellId: c.id,
        x,
        y,
        radius: sqrt(semiMajor * semiMinor),
        roundness: a,
        phase: p ? p.kind : 'normal',
      });
    }
    drawings.push(drawn);
  }

  const round2 = (v: number): number => round(v * 100) / 100;
  const shown = events.filter((e) => !e.hidden);
  const finished: SyntheticEvent[] = shown
    .map((e) => ({
      kind: e.kind,
      cellId: e.cellId,
      start: e.begin + 1,
      end: e.begin + e.duration,
      duration: e.duration,
      x: round2(e.x),
      y: round2(e.y),
    }))
    .sort((a, b) => a.start - b.start || a.cellId - b.cellId);
  const mitoses: MitosisAnnotation[] = shown
    .filter((e) => e.kind === 'mitosis')
    .map((e) => ({ frame: e.split + 1, x: round2(e.x), y: round2(e.y) }))
    .sort((a, b) => a.frame - b.frame || a.x - b.x || a.y - b.y);
  return { drawings, cells: observations, events: finished, mitoses };
}
