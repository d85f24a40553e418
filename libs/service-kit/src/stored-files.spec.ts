import { createMemoryBlobStore } from '@mitosis/core';
import type { BlobStore } from '@mitosis/core';
import { keys } from './keys';
import { readAnnotationSet } from './stored-files';

describe('readAnnotationSet', () => {
  const put = async (value: unknown): Promise<BlobStore> => {
    const store = createMemoryBlobStore();
    await store.put(keys.annotationSet('s1'), new TextEncoder().encode(JSON.stringify(value)));
    return store;
  };
  const at = { annotationsKey: keys.annotationSet('s1'), videoId: 'v1', range: { first: 2, last: 4 } };

  it('returns the points of a set of this video', async () => {
    const store = await put({ setId: 's1', videoId: 'v1', points: [{ frame: 3, x: 1.5, y: 2 }], annotatedFrames: { first: 1, last: 5 } });
    expect(await readAnnotationSet(store, at)).toEqual([{ frame: 3, x: 1.5, y: 2 }]);
  });

  it.each([
    [undefined, 'NOT_FOUND', 'annotation set annotations/s1.json does not exist'],
    [{ setId: 's1', videoId: 'v2', points: [] }, 'FAILED_PRECONDITION', 'annotation set annotations/s1.json belongs to video v2, not v1'],
    [{ setId: 's1', videoId: 'v1' }, 'INVALID_ARGUMENT', 'annotation set annotations/s1.json has no points array'],
    [{ setId: 's1', videoId: 'v1', points: [{ frame: 1, x: 'a', y: 0 }] }, 'INVALID_ARGUMENT', 'point 0 is not {frame, x, y} with finite numbers'],
    [{ setId: 's1', videoId: 'v1', points: [], annotatedFrames: { first: 3, last: 9 } }, 'INVALID_ARGUMENT', 'training frames 2:4 are not inside the annotated frames 3:9'],
  ])('refuses %j', async (value, kind, message) => {
    const store = value === undefined ? createMemoryBlobStore() : await put(value);
    const error = (await readAnnotationSet(store, at).catch((e: unknown) => e)) as { kind: string; message: string };
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(message);
  });
});
