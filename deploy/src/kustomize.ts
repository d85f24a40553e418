import { execFileSync } from 'node:child_process';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import type { K8sObject } from './yaml-files';
import { asK8sObject, parseYamlDocuments } from './yaml-files';

/** What to tell someone without kubectl: the package that brings `kubectl kustomize` (kustomize v5). */
export const KUBECTL_INSTALL_HINT =
  'install kubectl 1.27 or later (it bundles kustomize v5): https://kubernetes.io/docs/tasks/tools/#kubectl, e.g. `apt-get install kubectl` from pkgs.k8s.io or `snap install kubectl --classic`';

/**
 * Renders the kustomization in `dir` with `kubectl kustomize` and returns its objects in the order
 * kubectl prints them; the project's rule checks run on this output. `env` is the environment
 * kubectl runs in (its PATH finds kubectl).
 */
export function renderKustomization(dir: string, env: NodeJS.ProcessEnv = process.env): K8sObject[] {
  let stdout: string;
  try {
    stdout = execFileSync('kubectl', ['kustomize', dir], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error: unknown) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string; status?: number | null };
    if (failure.code === 'ENOENT') throw new NotFoundError(`kubectl not found on PATH, needed to render ${dir}; ${KUBECTL_INSTALL_HINT}`, { cause: error });
    const reason = (failure.stderr ?? '').trim() || failure.message;
    throw new InvalidInputError(`kubectl kustomize ${dir} failed (exit ${String(failure.status)}): ${reason}`, { cause: error });
  }
  const source = `kubectl kustomize ${dir}`;
  return parseYamlDocuments(stdout, source).map((document) => asK8sObject(document, source));
}
