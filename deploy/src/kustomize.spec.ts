import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderKustomization } from './kustomize';

describe('renderKustomization (kubectl kustomize)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kustomize-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the objects kubectl prints, with its namespace and generated name hash', () => {
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'namespace: demo\nconfigMapGenerator:\n  - name: settings\n    literals: [A=1]\nresources: [svc.yaml]\n');
    writeFileSync(path.join(dir, 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec: {ports: [{port: 80}]}\n');
    const objects = renderKustomization(dir);
    expect(objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name])).toEqual([
      ['ConfigMap', 'demo', expect.stringMatching(/^settings-[a-z0-9]{10}$/)],
      ['Service', 'demo', 'api'],
    ]);
  });

  it("fails with kubectl's reason for a broken kustomization", () => {
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: [missing.yaml]\n');
    expect(() => renderKustomization(dir)).toThrow(/kubectl kustomize .* failed \(exit 1\): .*missing\.yaml/);
  });

  it('names how to install kubectl where it is not on PATH', () => {
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: []\n');
    expect(() => renderKustomization(dir, { ...process.env, PATH: dir })).toThrow(/kubectl not found on PATH.*install kubectl/);
  });
});
