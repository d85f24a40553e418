// Math's members as module constants: under Jest's vm context every lookup of a global such as
// `Math` inside a hot loop goes through a slow interceptor.
const { PI, cos, hypot, max, min, sin, sqrt } = Math;

/**
 * How cells touch: the crowding passes of a confluent dish (contact inhibition > 0) and the soft
 * repulsion of a sparse one. Cells in an event programme hold still and are not pushed.
 */
export interface ContactCell {
  readonly id: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
  theta: number;
  readonly elongation: number;
  readonly radius: number;
  /** Set while the cell is in an event programme (rounded, held still). */
  readonly program: unknown;
  readonly entering: boolean;
  /** Neighbours touching it in the last crowding pass (contact inhibition only). */
  contacts: number;
}

/** Rounded disc radius relative to the flat cell's equivalent radius (real mitotic cells: about the same area seen from above, a bit smaller). */
export const roundFactor = 0.9;

/** The angle `a` as the turn between two axes, whose orientation is defined modulo pi. */
export function wrapHalfTurn(a: number): number {
  let r = a % PI;
  if (r > PI / 2) r -= PI;
  if (r < -PI / 2) r += PI;
  return r;
}

/** A cell's collision outline for the crowding passes: its ellipse, or its disc while rounded. */
function contactRadius(c: ContactCell, ux: number, uy: number): number {
  if (c.program) return roundFactor * c.radius + 1;
  // Radius of the ellipse along (ux, uy): A B / sqrt((B cos phi)^2 + (A sin phi)^2).
  const sq = sqrt(c.elongation);
  const A = c.radius * sq;
  const B = c.radius / sq;
  const cp = ux * cos(c.theta) + uy * sin(c.theta);
  const sp = -ux * sin(c.theta) + uy * cos(c.theta);
  return (A * B) / sqrt((B * cp) ** 2 + (A * sp) ** 2);
}

/**
 * The distance between two centres and the unit vector (ux, uy) from a to b. Coincident centres
 * (`coincident`) get a direction fixed by the ids, not by a draw.
 */
function lineOfCentres(a: ContactCell, b: ContactCell): { dist: number; ux: number; uy: number; coincident: boolean } {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const dist = hypot(dx, dy);
  if (dist < 1e-6) return { dist, ux: cos(a.id + b.id), uy: sin(a.id + b.id), coincident: true };
  return { dist, ux: dx / dist, uy: dy / dist, coincident: false };
}

/** Soft repulsion (no contact inhibition): overlapping cells push each other apart by half their overlap. */
export function repel(cells: readonly ContactCell[]): void {
  for (let i = 0; i < cells.length; i++) {
    const a = cells[i];
    const ra = a.program ? roundFactor * a.radius + 2 : 1.15 * a.radius;
    for (let j = i + 1; j < cells.length; j++) {
      const b = cells[j];
      if (a.program && b.program) continue;
      const rb = b.program ? roundFactor * b.radius + 2 : 1.15 * b.radius;
      const { dist, ux, uy } = lineOfCentres(a, b);
      const overlap = ra + rb - dist;
      if (overlap <= 0) continue;
      separate(a, b, ux, uy, 0.5 * overlap);
    }
  }
}

/** How many passes of pairwise separation each frame: enough for a packed monolayer to settle. */
const crowdPasses = 4;

/**
 * One frame of crowding (contact inhibition > 0): a few passes over the touching pairs (found on
 * a grid of cells twice the largest contact radius) that push overlapping outlines apart along
 * the line of centres, measured as ellipses; a free cell moving into a neighbour loses that part
 * of its velocity (reversed by half at full inhibition), and touching free cells turn towards
 * a common axis, as confluent cells align. Cells in an event hold still and are not pushed.
 */
export function crowd(cells: readonly ContactCell[], inhibition: number, W: number, H: number): void {
  let reachMax = 1;
  for (const c of cells) reachMax = max(reachMax, c.radius * 2);
  const size = 2 * reachMax;
  const cols = max(1, Math.ceil(W / size) + 2);
  const rows = max(1, Math.ceil(H / size) + 2);
  for (const c of cells) c.contacts = 0;
  for (let pass = 0; pass < crowdPasses; pass++) {
    const grid = new Map<number, ContactCell[]>();
    const key = (gx: number, gy: number): number => gy * cols + gx;
    const cellOf = (c: ContactCell): [number, number] => [min(cols - 1, max(0, Math.floor(c.x / size) + 1)), min(rows - 1, max(0, Math.floor(c.y / size) + 1))];
    for (const c of cells) {
      const [gx, gy] = cellOf(c);
      const list = grid.get(key(gx, gy));
      if (list) list.push(c);
      else grid.set(key(gx, gy), [c]);
    }
    for (const a of cells) {
      const [gx, gy] = cellOf(a);
      for (let ny = gy - 1; ny <= gy + 1; ny++) {
        for (let nx = gx - 1; nx <= gx + 1; nx++) {
          const list = grid.get(key(nx, ny));
          if (!list) continue;
          for (const b of list) {
            // Each pair once, in a fixed order.
            if (b.id <= a.id || (a.program && b.program)) continue;
            const { dist, ux, uy, coincident } = lineOfCentres(a, b);
            if (dist > 2 * reachMax) continue;
            // Coincident centres overlap as if a pixel apart.
            const overlap = contactRadius(a, ux, uy) + contactRadius(b, ux, uy) - (coincident ? 1 : dist);
            // Within a pixel of touching counts as a contact.
            if (overlap <= -1) continue;
            if (pass === 0) {
              a.contacts++;
              b.contacts++;
              if (!a.program && !b.program) {
                // Alignment: each turns a little towards the other's axis (axes are modulo pi).
                const turn = 0.1 * inhibition * wrapHalfTurn(b.theta - a.theta);
                a.theta += turn;
                b.theta -= turn;
              }
              for (const [c, sx, sy] of [
                [a, ux, uy],
                [b, -ux, -uy],
              ] as const) {
                if (c.program) continue;
                // Contact inhibition of locomotion: no pushing on into a neighbour.
                const towards = c.vx * sx + c.vy * sy;
                if (towards > 0) {
                  c.vx -= (1 + 0.5 * inhibition) * inhibition * towards * sx;
                  c.vy -= (1 + 0.5 * inhibition) * inhibition * towards * sy;
                }
              }
            }
            if (overlap <= 0) continue;
            separate(a, b, ux, uy, overlap);
          }
        }
      }
    }
  }
  // Pressed cells keep inside the dish (entering ones are still on their way in).
  for (const c of cells) {
    if (c.program || c.entering) continue;
    const m = 0.3 * c.radius;
    c.x = min(W - m, max(m, c.x));
    c.y = min(H - m, max(m, c.y));
  }
}

/** Moves two overlapping cells apart by `amount` along (ux, uy); a cell in an event programme stays put and the other moves for both. */
function separate(a: ContactCell, b: ContactCell, ux: number, uy: number, amount: number): void {
  const shareA = a.program ? 0 : b.program ? 1 : 0.5;
  const shareB = b.program ? 0 : a.program ? 1 : 0.5;
  a.x -= ux * amount * shareA;
  a.y -= uy * amount * shareA;
  b.x += ux * amount * shareB;
  b.y += uy * amount * shareB;
}
