import { applyJsonPatch, parseJsonPatch } from './json-patch';

describe('JSON6902 patches', () => {
  const doc = { spec: { triggers: [{ metadata: { a: '1' } }, { metadata: { a: '2' } }], 'x/y': { '~k': 1 } } };

  it('adds, replaces, removes and tests, leaving the input untouched', () => {
    const ops = parseJsonPatch(
      [
        { op: 'test', path: '/spec/triggers/1/metadata/a', value: '2' },
        { op: 'replace', path: '/spec/triggers/0/metadata/a', value: '10' },
        { op: 'add', path: '/spec/triggers/-', value: { metadata: { a: '3' } } },
        { op: 'add', path: '/spec/triggers/0', value: { first: true } },
        { op: 'remove', path: '/spec/x~1y/~0k' },
        { op: 'add', path: '/spec/new', value: 5 },
      ],
      't',
    );
    expect(applyJsonPatch(doc, ops, 't')).toEqual({
      spec: { triggers: [{ first: true }, { metadata: { a: '10' } }, { metadata: { a: '2' } }, { metadata: { a: '3' } }], 'x/y': {}, new: 5 },
    });
    expect(doc.spec.triggers).toHaveLength(2);
  });

  it('fails on a missing path, an index out of range, a failed test or an unsupported op', () => {
    expect(() => applyJsonPatch(doc, parseJsonPatch([{ op: 'replace', path: '/spec/triggers/2/metadata/a', value: 'x' }], 't'), 't')).toThrow(/out of range/);
    expect(() => applyJsonPatch(doc, parseJsonPatch([{ op: 'replace', path: '/spec/nope', value: 'x' }], 't'), 't')).toThrow(/does not exist/);
    expect(() => applyJsonPatch(doc, parseJsonPatch([{ op: 'test', path: '/spec/triggers/0/metadata/a', value: '9' }], 't'), 't')).toThrow(/test failed/);
    expect(() => parseJsonPatch([{ op: 'move', from: '/a', path: '/b' }], 'p.yaml')).toThrow(/p.yaml: operation 1: "move" is not supported/);
    expect(() => parseJsonPatch({ op: 'add' }, 'p.yaml')).toThrow(/list of operations/);
  });
});
