import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { K8S_DIR, OVERLAYS } from '../overlays';
import { sortKeys } from './json-patch';
import { renderKustomization } from './render';

/**
 * The renderer against the real thing: where `kubectl kustomize` (kustomize v5) is installed,
 * every kustomization under deploy/k8s must render to the very same objects, in the same order.
 * Machines without kubectl skip this file (it says so); the renderer's own specs still run.
 */
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const version = /Kustomize Version: v(\d+)/.exec(kubectl.stdout ?? '');
const usable = kubectl.status === 0 && Number(version?.[1]) >= 5;
const maybe = usable ? describe : describe.skip;
if (!usable) process.stderr.write('deploy: kubectl with kustomize v5 not found; the cross-check with kubectl kustomize is skipped\n');

maybe('renderer equals kubectl kustomize', () => {
  // The overlays hold the base; both kubectl runs at once (each takes seconds).
  const dirs = Object.keys(OVERLAYS).map((name) => path.join(K8S_DIR, 'overlays', name));
  const rendered = new Map<string, unknown[]>();
  beforeAll(async () => {
    const outputs = await Promise.all(dirs.map((dir) => promisify(execFile)('kubectl', ['kustomize', dir], { encoding: 'utf8' })));
    outputs.forEach(({ stdout }, index) => rendered.set(dirs[index] ?? '', parseAllDocuments(stdout).map((d) => sortKeys(d.toJS()))));
  });
  it.each(dirs.map((dir) => [path.relative(K8S_DIR, dir), dir]))('%s', (_name, dir) => {
    expect(renderKustomization(dir).map(sortKeys)).toEqual(rendered.get(dir));
  });
});
