import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';
import type { OverlayExpectations, RenderFacts } from './checks';
import { renderProblems } from './checks';
import { renderKustomization } from './kustomize';
import { GPU_WORKERS, REPO_ROOT, gatewayHealthServices, knownEnvironmentNames, workerHealthServices, workerStages } from './repo-facts';
import { validateObjects } from './validate';
import type { K8sObject } from './yaml-files';

export const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'k8s');

/** The overlays under deploy/k8s/overlays and what each must satisfy. */
export const OVERLAYS: Readonly<Record<string, OverlayExpectations>> = {
  dev: { externalSecrets: [], gpu: false },
  // The operator creates mitosis-credentials (deploy/README.md); nothing secret is in git.
  'gpu-prod': { externalSecrets: ['mitosis-credentials'], gpu: true },
};

export function overlayDir(name: string): string {
  if (!(name in OVERLAYS)) throw new InvalidInputError(`unknown overlay "${name}"; expected one of ${Object.keys(OVERLAYS).join(', ')}`);
  return path.join(K8S_DIR, 'overlays', name);
}

export function repoFacts(): RenderFacts {
  return {
    workerStages: workerStages(),
    gpuWorkers: GPU_WORKERS,
    knownEnv: knownEnvironmentNames(),
    gatewayHealthServices: gatewayHealthServices(),
    workerHealthServices: workerHealthServices(),
  };
}

/** Renders an overlay and returns it with every schema and rule problem found. */
export function checkOverlay(name: string, facts: RenderFacts = repoFacts()): { objects: K8sObject[]; problems: string[] } {
  const objects = renderKustomization(overlayDir(name));
  const expectations = OVERLAYS[name] as OverlayExpectations;
  return { objects, problems: [...validateObjects(objects), ...renderProblems(objects, facts, expectations)] };
}
