import { goJson, nameHash } from './name-hash';
import { secretBase64 } from './render';

// Expected names printed by kubectl kustomize (kubectl 1.32, kustomize v5.5) for the same input.
describe('kustomize name hashes', () => {
  it('matches kustomize for ConfigMaps and Secrets', () => {
    expect(nameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { A: '1' } })).toBe('89g4tffbfk');
    expect(nameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { B: '2', A: 'x<y&z' } })).toBe('6b6m7d9dkg');
    expect(nameHash({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { P: 'cGEgc3M=' } })).toBe('78t7bf6m65');
  });

  it('does not depend on the name (kustomize v5 hashes an empty one) but on the data', () => {
    const a = nameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { A: '1' } });
    expect(nameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two' }, data: { A: '1' } })).toBe(a);
    expect(nameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { A: '2' } })).not.toBe(a);
  });

  it('encodes JSON as Go does: sorted keys, HTML characters escaped', () => {
    expect(goJson({ b: 'x<y>&', a: [1, true, null] })).toBe('{"a":[1,true,null],"b":"x\\u003cy\\u003e\\u0026"}');
  });

  it('wraps Secret base64 at 70 characters with a final newline, as kustomize writes it', () => {
    expect(secretBase64('pa ss')).toBe('cGEgc3M=');
    const long = secretBase64('s3://mitosis-dev:mitosis-dev-secret@minio:9000/mitosis?ssl=false');
    expect(long).toBe('czM6Ly9taXRvc2lzLWRldjptaXRvc2lzLWRldi1zZWNyZXRAbWluaW86OTAwMC9taXRvc2\nlzP3NzbD1mYWxzZQ==\n');
  });
});
