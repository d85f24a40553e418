import { InvalidInputError } from '@mitosis/core';
import { isBuiltinApiVersion, strategicMerge } from './strategic-merge';

const deployment = { kind: 'Deployment', apiVersion: 'apps/v1', source: 'test' };

describe('strategicMerge', () => {
  // The case worked by hand and checked against kubectl kustomize v5.5: patch elements first
  // (merged with the target's of the same name), then the target's others; null deletes a key.
  it('merges containers and env by name in kyaml order, null deleting a field', () => {
    const target = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'a', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'C', value: '3' }] },
              { name: 'b', image: 'y' },
            ],
            tolerations: [{ key: 't1' }],
          },
        },
      },
    };
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'c', image: 'z' }, { name: 'a', env: [{ name: 'C', value: '33' }, { name: 'D', value: '4' }, { name: 'B', value: null }] }],
            tolerations: [{ key: 't2' }],
          },
        },
      },
    };
    expect(strategicMerge(target, patch, deployment)).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'c', image: 'z' },
              { name: 'a', image: 'x', env: [{ name: 'C', value: '33' }, { name: 'D', value: '4' }, { name: 'B' }, { name: 'A', value: '1' }] },
              { name: 'b', image: 'y' },
            ],
            // No merge key for tolerations: replaced.
            tolerations: [{ key: 't2' }],
          },
        },
      },
    });
  });

  it('replaces every list of a custom resource and still merges its maps', () => {
    const target = { spec: { list: [{ name: 'a', v: 1 }, { name: 'b' }], m: { a: 1, b: 2 } } };
    const patch = { spec: { list: [{ name: 'a', v: 2 }], m: { a: null, c: 3 } } };
    expect(strategicMerge(target, patch, { kind: 'Foo', apiVersion: 'x.io/v1', source: 't' })).toEqual({ spec: { list: [{ name: 'a', v: 2 }], m: { b: 2, c: 3 } } });
  });

  it('merges Service ports by port and container ports by containerPort', () => {
    const service = { spec: { ports: [{ port: 80, name: 'http' }, { port: 443 }] } };
    expect(strategicMerge(service, { spec: { ports: [{ port: 443, name: 'https' }] } }, { kind: 'Service', apiVersion: 'v1', source: 't' })).toEqual({
      spec: { ports: [{ port: 443, name: 'https' }, { port: 80, name: 'http' }] },
    });
    const pod = { spec: { template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 1 }] }] } } } };
    const merged = strategicMerge(pod, { spec: { template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 2 }] }] } } } }, deployment);
    expect(merged.spec.template.spec.containers[0]?.ports).toEqual([{ containerPort: 2 }, { containerPort: 1 }]);
  });

  it('refuses patch directives and keyed elements without their key', () => {
    expect(() => strategicMerge({ spec: {} }, { spec: { $patch: 'replace' } }, deployment)).toThrow(/\$patch.*not supported/);
    const target = { spec: { template: { spec: { containers: [{ name: 'a' }] } } } };
    expect(() => strategicMerge(target, { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, deployment)).toThrow(InvalidInputError);
  });

  it('tells built-in API groups from custom ones', () => {
    expect(['v1', 'apps/v1', 'policy/v1', 'networking.k8s.io/v1'].map(isBuiltinApiVersion)).toEqual([true, true, true, true]);
    expect(['keda.sh/v1alpha1', 'monitoring.coreos.com/v1'].map(isBuiltinApiVersion)).toEqual([false, false]);
  });
});
