import { existsSync } from 'node:fs';
import path from 'node:path';

/** The workspace root: the nearest folder above this file holding nx.json. */
export function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'nx.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('no nx.json above libs/testing: not inside the workspace');
    dir = parent;
  }
  return dir;
}

/** The environment variable naming the shared data folder, when it is not `../shared`. */
export const SHARED_DATA_ENV = 'MITOSIS_SHARED_DATA';

/**
 * The shared folder (data, peers) that is not part of the repository: `$MITOSIS_SHARED_DATA`
 * when set, else `../shared` beside the checkout. A clone may have neither; see `sharedData`.
 */
export function sharedRoot(): string {
  const fromEnv = process.env[SHARED_DATA_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv);
  return path.join(workspaceRoot(), '..', 'shared');
}

/** A path inside the shared folder, whether or not it exists. */
export function sharedPath(...parts: string[]): string {
  return path.join(sharedRoot(), ...parts);
}

/** A path inside the shared folder, or why it cannot be used (a line a skipped test prints). */
export type SharedData = { available: true; path: string } | { available: false; path: string; reason: string };

export function sharedData(...parts: string[]): SharedData {
  const where = sharedPath(...parts);
  if (existsSync(where)) return { available: true, path: where };
  const origin = process.env[SHARED_DATA_ENV] ? `$${SHARED_DATA_ENV}` : `../shared beside the checkout (or set $${SHARED_DATA_ENV})`;
  return { available: false, path: where, reason: `${where} is missing: the shared data lives in ${origin}` };
}

/**
 * `describe` for specs that need the big shared data: the suite runs when `parts` exists, and
 * otherwise is skipped at load time with the reason printed, so a clone without the data passes
 * and says what it left out.
 */
export function describeWithSharedData(name: string, parts: readonly string[], body: (where: string) => void): void {
  const found = sharedData(...parts);
  if (found.available) {
    describe(name, () => body(found.path));
    return;
  }
  console.warn(`skipped "${name}": ${found.reason}`);
  describe.skip(`${name} (skipped: ${found.reason})`, () => body(found.path));
}

/** The small real cut of CeTReS.B-MI shipped with the repository (see fixtures/cetres-b/README.md). */
export const cetresFixture = {
  frames: (): string => path.join(workspaceRoot(), 'libs', 'testing', 'fixtures', 'cetres-b', 'frames'),
  /** All 90 annotations of frames 1..200, in the original frames' coordinates. */
  mitoses: (): string => path.join(workspaceRoot(), 'libs', 'testing', 'fixtures', 'cetres-b', 'mitoses.csv'),
  /** The frame numbers shipped and the window they were cut to, in original pixels. */
  frameNumbers: [98, 99, 100, 101] as const,
  window: { x: 0, y: 640, width: 512, height: 384 },
  original: { width: 1376, height: 1038 },
};

/** The full CeTReS.B-MI development part in the shared folder (frames 1..200, 1376 x 1038). */
export const cetres = {
  frames: (): string => sharedPath('data', 'cetres-b', 'frames'),
  mitoses: (): string => sharedPath('data', 'cetres-b', 'mitoses.csv'),
  /** The parts to hand `describeWithSharedData` for the full frames. */
  framesParts: ['data', 'cetres-b', 'frames'] as const,
};
