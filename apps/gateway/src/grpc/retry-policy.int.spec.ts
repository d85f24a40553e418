import { readFileSync } from 'node:fs';
import path from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import type { BlobStore } from '@mitosis/core';
import { VideoServiceClient } from '@mitosis/proto';
import { call, gatewayForSpec, syntheticTiff, upload } from '../testing/harness';

/** The service config the gateway's README gives clients, read from the README itself. */
function documentedServiceConfig(): string {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /<!-- retry-service-config[^>]*-->\s*```json\n([\s\S]*?)\n```/.exec(readme);
  if (block?.[1] === undefined) throw new Error('apps/gateway/README.md has no retry service config block');
  return block[1];
}

let failures = 0;
/** The bucket's store, except that the next `failures` reads fail as a refused connection does. */
const flaky = (store: BlobStore): BlobStore => ({
  put: (key, bytes) => store.put(key, bytes),
  get: (key) => {
    if (failures <= 0) return store.get(key);
    failures--;
    return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }));
  },
  exists: (key) => store.exists(key),
  list: (prefix) => store.list(prefix),
  delete: (keyOrPrefix) => store.delete(keyOrPrefix),
});

const gateway = gatewayForSpec({ wrapStore: flaky });

jest.setTimeout(30_000);

describe("the clients' retry policy of the README", () => {
  it('is a valid service config that retries GetVideo through an outage', async () => {
    const config = documentedServiceConfig();
    expect(() => JSON.parse(config) as unknown).not.toThrow();
    const { videoId } = await upload(gateway.clients.video, syntheticTiff({ frames: 3 }));

    failures = 2;
    // Without the policy the outage reaches the client.
    await expect(call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId })).rejects.toMatchObject({ code: status.UNAVAILABLE });

    const retrying = new VideoServiceClient(gateway.address, credentials.createInsecure(), { 'grpc.service_config': config, 'grpc.enable_retries': 1 });
    try {
      failures = 2;
      await expect(call(retrying.getVideo.bind(retrying), { videoId })).resolves.toMatchObject({ video: { videoId } });
      expect(failures).toBe(0);
    } finally {
      retrying.close();
    }
  });
});
