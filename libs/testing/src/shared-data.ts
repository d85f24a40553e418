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

/**
 * A path inside the shared data folder that sits beside the checkout (`../shared`), wherever the
 * checkout is: CI runs a fresh clone in another folder with a copy of shared/ beside it.
 */
export function sharedPath(...parts: string[]): string {
  return path.join(workspaceRoot(), '..', 'shared', ...parts);
}

/** The real CeTReS.B-MI frames folder and annotations. */
export const cetres = {
  frames: (): string => sharedPath('data', 'cetres-b', 'frames'),
  mitoses: (): string => sharedPath('data', 'cetres-b', 'mitoses.csv'),
};
