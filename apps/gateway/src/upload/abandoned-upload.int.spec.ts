import { existsSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { UploadVideoResponse } from '@mitosis/proto';
import type { HeldStore } from '../testing/held-store';
import { heldStore } from '../testing/held-store';
import { call, gatewayForSpec, sha256, syntheticTiff, upload } from '../testing/harness';

let held: HeldStore | undefined;
const store = (): HeldStore => held!;

// The store is held for less than its timeout: the store answers late, it does not fail.
const gateway = gatewayForSpec({
  wrapStore: (bucket) => (held = heldStore(bucket)),
  storeTimeoutMs: 30_000,
  storeProbeIntervalMs: 60_000,
  stagingMaxAgeMs: 60_000,
});

jest.setTimeout(30_000);

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends every byte and half-closes; the result settles when the call ends, however it ends. */
function sendAll(bytes: Uint8Array, deadline?: number): { cancel(): void; result: Promise<UploadVideoResponse | ServiceError> } {
  let cancel = (): void => undefined;
  const result = new Promise<UploadVideoResponse | ServiceError>((resolve) => {
    const stream = gateway.clients.video.uploadVideo(new Metadata(), deadline === undefined ? {} : { deadline }, (error, response) => resolve(error ?? response!));
    stream.on('error', () => undefined);
    cancel = () => stream.cancel();
    stream.write({ content: { $case: 'header', value: { filename: 'gone.tif', sizeBytes: bytes.length, sha256: sha256(bytes) } } });
    for (let at = 0; at < bytes.length; at += 4096) stream.write({ content: { $case: 'chunk', value: Buffer.from(bytes.subarray(at, at + 4096)) } });
    stream.end();
  });
  return { cancel: () => cancel(), result };
}

/**
 * Holds the store, sends a whole upload, ends the call (cancel or deadline) while the gateway
 * waits on the store, lets the store answer, and waits for the handler to finish (its local
 * staging folder is removed last).
 */
async function abandon(bytes: Uint8Array, end: 'cancel' | 'deadline'): Promise<ServiceError> {
  store().hold();
  try {
    const upload = sendAll(bytes, end === 'deadline' ? Date.now() + 1500 : undefined);
    await until('the gateway to wait on the store', () => store().waiting > 0);
    if (end === 'cancel') upload.cancel();
    const outcome = await upload.result;
    expect(outcome).toBeInstanceOf(Error);
    return outcome as ServiceError;
  } finally {
    store().release();
    await until('the upload handler to finish', async () => (await gateway.staged()).length === 0);
  }
}

describe('an upload whose client leaves while the store is slow', () => {
  it('is not stored when the client cancels after its last chunk', async () => {
    const before = await gateway.keys();
    const error = await abandon(syntheticTiff({ frames: 3, seed: 41 }), 'cancel');
    expect(error.code).toBe(status.CANCELLED);
    // No video, no staging marker, no source, no content index entry.
    expect(await gateway.keys()).toEqual(before);
  });

  it('is not stored when the client passes its deadline after its last chunk', async () => {
    const before = await gateway.keys();
    const error = await abandon(syntheticTiff({ frames: 3, seed: 42 }), 'deadline');
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    expect(await gateway.keys()).toEqual(before);
  });

  it('leaves the same bytes free to be uploaded again, as a new video', async () => {
    const bytes = syntheticTiff({ frames: 3, seed: 43 });
    await abandon(bytes, 'cancel');
    const retried = await upload(gateway.clients.video, bytes);
    expect(retried.alreadyStored).toBe(false);
    const { video } = await call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId: retried.videoId });
    expect(video?.sha256).toBe(sha256(bytes));
  });
});

describe('the staging janitor', () => {
  const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
  const stage = async (videoId: string, ageMs: number, committed: boolean): Promise<string[]> => {
    const sha = sha256(encode(videoId));
    const written = [`uploads/${videoId}.json`, `videos/${videoId}/source`, `videos-by-sha256/${sha}.json`];
    await gateway.store.put(written[0]!, encode({ videoId, sha256: sha, stagedAt: new Date(Date.now() - ageMs).toISOString() }));
    await gateway.store.put(written[1]!, new Uint8Array([1, 2, 3]));
    await gateway.store.put(written[2]!, encode({ videoId }));
    if (committed) {
      written.push(`videos/${videoId}/video.json`);
      await gateway.store.put(written[3]!, encode({ videoId }));
    }
    return written;
  };

  it('removes uploads staged longer ago than the age limit, and keeps fresh and committed ones', async () => {
    const before = await gateway.keys();
    await stage('vid-abandoned', 120_000, false);
    const fresh = await stage('vid-in-flight', 1_000, false);
    const committed = await stage('vid-committed', 120_000, true);
    expect(await gateway.sweepStaging()).toBe(1);
    // The abandoned upload is gone; the one still in flight stays whole; the committed video loses only its marker.
    expect(await gateway.keys()).toEqual([...before, ...fresh, ...committed.slice(1)].sort());
  });

  it('removes the partial upload folders a killed gateway left, not a live upload nor other files', async () => {
    const folder = async (name: string, ageMs: number): Promise<string> => {
      const dir = path.join(gateway.uploadDir, name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'upload'), new Uint8Array(10));
      const when = new Date(Date.now() - ageMs);
      await utimes(path.join(dir, 'upload'), when, when);
      await utimes(dir, when, when);
      return dir;
    };
    const killed = await folder('mitosis-upload-killed', 120_000);
    const live = await folder('mitosis-upload-live', 120_000);
    // A live upload's file is still being written to.
    await writeFile(path.join(live, 'upload'), new Uint8Array(20));
    const other = await folder('operator-notes', 120_000);
    expect(await gateway.sweepStaging()).toBe(1);
    expect(existsSync(killed)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    await rm(live, { recursive: true });
    await rm(other, { recursive: true });
  });
});
