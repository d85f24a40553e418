import { InvalidInputError } from '@mitosis/core';

/**
 * A flat structuring element: the set of offsets (dt, dy, dx) around the origin that morphology
 * looks at. A 2D element has dt = 0 everywhere, so it works on each frame alone; a 3D one reaches
 * into neighbouring frames. Offsets are stored flat in an Int32Array (dt0, dy0, dx0, dt1, ...)
 * so the hot loops read them without allocation.
 */
export interface StructuringElement {
  /** Human-readable name, for logs and errors ('cross2d', 'disk2d(3)', ...). */
  readonly name: string;
  /** 2 when every offset has dt = 0 (per-frame morphology), 3 otherwise. */
  readonly dims: 2 | 3;
  /** Flat (dt, dy, dx) triples; always contains the origin (0, 0, 0). */
  readonly offsets: Int32Array;
  /** Number of offsets (offsets.length / 3). */
  readonly size: number;
  /** Largest |dt|, |dy|, |dx| among the offsets: how far the element reaches on each axis. */
  readonly radius: { readonly t: number; readonly y: number; readonly x: number };
}

/**
 * Builds an element from explicit offsets. The origin is required: erosion then never grows and
 * dilation never shrinks a set, which the stages rely on. Duplicates are dropped.
 */
export function structuringElement(name: string, offsets: ReadonlyArray<readonly [dt: number, dy: number, dx: number]>): StructuringElement {
  const seen = new Set<string>();
  const flat: number[] = [];
  let rt = 0;
  let ry = 0;
  let rx = 0;
  let hasOrigin = false;
  for (const [dt, dy, dx] of offsets) {
    if (!Number.isInteger(dt) || !Number.isInteger(dy) || !Number.isInteger(dx)) {
      throw new InvalidInputError(`structuring element ${name}: offset (${dt}, ${dy}, ${dx}) is not integer`);
    }
    const key = `${dt},${dy},${dx}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (dt === 0 && dy === 0 && dx === 0) hasOrigin = true;
    flat.push(dt, dy, dx);
    rt = Math.max(rt, Math.abs(dt));
    ry = Math.max(ry, Math.abs(dy));
    rx = Math.max(rx, Math.abs(dx));
  }
  if (!hasOrigin) {
    throw new InvalidInputError(`structuring element ${name}: must contain the origin (0, 0, 0)`);
  }
  return {
    name,
    dims: rt === 0 ? 2 : 3,
    offsets: Int32Array.from(flat),
    size: flat.length / 3,
    radius: { t: rt, y: ry, x: rx },
  };
}

function checkRadius(what: string, r: number): void {
  if (!Number.isInteger(r) || r < 0) {
    throw new InvalidInputError(`${what}: radius must be a non-negative integer, got ${String(r)}`);
  }
}

/** 2D cross: the origin and its 4 in-plane neighbours (scipy's default 2D structure). */
export function cross2d(): StructuringElement {
  return structuringElement('cross2d', [
    [0, 0, 0],
    [0, -1, 0],
    [0, 1, 0],
    [0, 0, -1],
    [0, 0, 1],
  ]);
}

/** 2D square 3x3: the origin and its 8 in-plane neighbours. */
export function square2d(): StructuringElement {
  const offsets: [number, number, number][] = [];
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) offsets.push([0, dy, dx]);
  return structuringElement('square2d', offsets);
}

/** 2D disk: offsets with dy^2 + dx^2 <= r^2. disk2d(0) is the origin, disk2d(1) the cross. */
export function disk2d(radius: number): StructuringElement {
  checkRadius('disk2d', radius);
  const offsets: [number, number, number][] = [];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      if (dy * dy + dx * dx <= radius * radius) offsets.push([0, dy, dx]);
    }
  }
  return structuringElement(`disk2d(${radius})`, offsets);
}

/**
 * 3D cross: the origin and its 6 face neighbours (scipy's default 3D structure). Dilating an
 * annotated mitosis pixel with it three times gives the label volume of paper III.G.
 */
export function cross3d(): StructuringElement {
  return structuringElement('cross3d', [
    [0, 0, 0],
    [-1, 0, 0],
    [1, 0, 0],
    [0, -1, 0],
    [0, 1, 0],
    [0, 0, -1],
    [0, 0, 1],
  ]);
}

/** 3D cube 3x3x3: the origin and its 26 neighbours. */
export function cube3d(): StructuringElement {
  const offsets: [number, number, number][] = [];
  for (let dt = -1; dt <= 1; dt++) {
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) offsets.push([dt, dy, dx]);
  }
  return structuringElement('cube3d', offsets);
}

/**
 * 3D ball (ellipsoid when the radii differ): offsets with (dt/rt)^2 + (dy/r)^2 + (dx/r)^2 <= 1.
 * Frames are not pixels, so the temporal radius may differ from the spatial one; it defaults to
 * the spatial radius. ball3d(1) is the 3D cross; a temporal radius of 0 gives disk2d(r).
 */
export function ball3d(radius: number, temporalRadius: number = radius): StructuringElement {
  checkRadius('ball3d', radius);
  checkRadius('ball3d (temporal)', temporalRadius);
  const offsets: [number, number, number][] = [];
  // Compare in integers: dt^2 r^2 + (dy^2 + dx^2) rt^2 <= r^2 rt^2, exact and free of 0/0.
  const r2 = radius * radius;
  const rt2 = temporalRadius * temporalRadius;
  for (let dt = -temporalRadius; dt <= temporalRadius; dt++) {
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const inside = temporalRadius === 0 ? dy * dy + dx * dx <= r2 : radius === 0 ? dy === 0 && dx === 0 : dt * dt * r2 + (dy * dy + dx * dx) * rt2 <= r2 * rt2;
        if (inside) offsets.push([dt, dy, dx]);
      }
    }
  }
  const name = temporalRadius === radius ? `ball3d(${radius})` : `ball3d(${radius}, t=${temporalRadius})`;
  return structuringElement(name, offsets);
}
