import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError, NotFoundError } from '@mitosis/core';
import { renderKustomization, splitImage } from './render';

/** Writes `files` (path -> text) under a fresh folder; returns the folder. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kustomize-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  roots.push(root);
  return root;
}
const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

const BASE = {
  'base/kustomization.yaml': `
resources: [app.yaml]
configMapGenerator:
  - name: cfg
    literals: [A=1]
images:
  - name: app
    newTag: "1.0"
`,
  'base/app.yaml': `
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      containers:
        - name: app
          image: app
          envFrom: [{configMapRef: {name: cfg}}]
          env: [{name: S, valueFrom: {secretKeyRef: {name: creds, key: S}}}]
      volumes: [{name: c, configMap: {name: cfg}}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: app}
spec:
  triggers: [{type: x, metadata: {endpoint: a}}]
`,
};

describe('renderKustomization', () => {
  it('renders an overlay of a base: namespace, merged generator with its hash, references, patches, images', () => {
    const root = tree({
      ...BASE,
      'overlay/kustomization.yaml': `
namespace: ns
resources: [../base]
configMapGenerator:
  - name: cfg
    behavior: merge
    literals: [B=2]
secretGenerator:
  - name: creds
    literals: [S=pa ss]
images:
  - name: app
    newName: reg.io/app
patches:
  - path: more.yaml
  - target: {kind: ScaledObject, name: "a.p"}
    patch: |-
      - op: replace
        path: /spec/triggers/0/metadata/endpoint
        value: b
`,
      'overlay/more.yaml': `
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
`,
    });
    const objects = renderKustomization(path.join(root, 'overlay'));
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      // The names kubectl kustomize (v5.5) gives the same tree.
      'ConfigMap/ns/cfg-66h9cbh964',
      'Secret/ns/creds-mcbth7k7t4',
      'Deployment/ns/app',
      'ScaledObject/ns/app',
    ]);
    const [configMap, , deployment, scaled] = objects;
    expect(configMap?.['data']).toEqual({ A: '1', B: '2' });
    const pod = (deployment?.['spec'] as { replicas: number; template: { spec: Record<string, never[]> } });
    expect(pod.replicas).toBe(2);
    expect(pod.template.spec['containers']).toEqual([
      {
        name: 'app',
        image: 'reg.io/app:1.0',
        envFrom: [{ configMapRef: { name: 'cfg-66h9cbh964' } }],
        env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 'creds-mcbth7k7t4', key: 'S' } } }],
      },
    ]);
    expect(pod.template.spec['volumes']).toEqual([{ name: 'c', configMap: { name: 'cfg-66h9cbh964' } }]);
    expect(scaled?.['spec']).toEqual({ triggers: [{ type: 'x', metadata: { endpoint: 'b' } }] });
  });

  it('refuses what it does not implement and what kustomize refuses', () => {
    const bad = (kustomization: string): string => tree({ ...BASE, 'o/kustomization.yaml': kustomization });
    expect(() => renderKustomization(path.join(bad('resources: [../base]\ncommonLabels: {a: b}\n'), 'o'))).toThrow(/field "commonLabels" is not supported/);
    expect(() => renderKustomization(path.join(bad('resources: [../nope]\n'), 'o'))).toThrow(NotFoundError);
    expect(() => renderKustomization(path.join(bad('resources: [../base]\nconfigMapGenerator: [{name: cfg, literals: [C=3]}]\n'), 'o'))).toThrow(/exists already/);
    expect(() => renderKustomization(path.join(bad('resources: [../base]\npatches: [{patch: "- {op: remove, path: /spec}"}]\n'), 'o'))).toThrow(/JSON6902 patch needs a target/);
    expect(() => renderKustomization(path.join(bad('resources: [../base]\npatches: [{target: {kind: Service}, patch: "- {op: remove, path: /spec}"}]\n'), 'o'))).toThrow(
      InvalidInputError,
    );
    expect(() => renderKustomization(path.join(bad('resources: [../base, ../base]\n'), 'o'))).toThrow(/defined twice/);
  });

  it('splits image references at the tag, not at a registry port', () => {
    expect(splitImage('reg:5000/a/b:1.2@sha256:ff')).toEqual({ name: 'reg:5000/a/b', suffix: ':1.2@sha256:ff' });
    expect(splitImage('reg:5000/a/b')).toEqual({ name: 'reg:5000/a/b', suffix: '' });
    expect(splitImage('nats:2.10.22-alpine')).toEqual({ name: 'nats', suffix: ':2.10.22-alpine' });
  });
});
