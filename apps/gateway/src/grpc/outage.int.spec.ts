import { status } from '@grpc/grpc-js';
import { ListJobsRequest } from '@mitosis/proto';
import type { Backends, GatewayFixture } from '../testing/harness';
import { call, startBackends, startGateway, syntheticTiff, upload } from '../testing/harness';

/** A gateway whose backends the spec stops: each describe has its own, stopped in the middle. */
function gatewayWithBackends(): { readonly backends: () => Backends; readonly gateway: () => GatewayFixture } {
  let backends: Backends | undefined;
  let gateway: GatewayFixture | undefined;
  beforeAll(async () => {
    backends = await startBackends();
    gateway = await startGateway(backends);
  });
  afterAll(async () => {
    await gateway?.stop();
    await backends?.stop();
  });
  return { backends: () => backends!, gateway: () => gateway! };
}

// nats.js answers a request on a dead connection after its 5 s timeout; a few calls fit here.
jest.setTimeout(60_000);

describe('with nats-server stopped', () => {
  const fixture = gatewayWithBackends();
  let videoId = '';
  let jobId = '';

  beforeAll(async () => {
    const gateway = fixture.gateway();
    videoId = (await upload(gateway.clients.video, syntheticTiff({ frames: 4 }))).videoId;
    const started = await call(gateway.clients.analysis.startAnalysis.bind(gateway.clients.analysis), { videoId });
    jobId = started.job?.jobId ?? '';
    await fixture.backends().nats.stop();
  });

  const unavailable = { code: status.UNAVAILABLE, details: expect.stringMatching(/job queue .*unreachable.*retry later/) };

  it('StartAnalysis answers UNAVAILABLE, naming the job queue', async () => {
    const gateway = fixture.gateway();
    await expect(call(gateway.clients.analysis.startAnalysis.bind(gateway.clients.analysis), { videoId })).rejects.toMatchObject(unavailable);
  });

  it('GetJob and ListJobs answer UNAVAILABLE', async () => {
    const gateway = fixture.gateway();
    await expect(call(gateway.clients.job.getJob.bind(gateway.clients.job), { jobId })).rejects.toMatchObject(unavailable);
    await expect(call(gateway.clients.job.listJobs.bind(gateway.clients.job), ListJobsRequest.fromPartial({}))).rejects.toMatchObject(unavailable);
  });
});

describe('with the object store stopped', () => {
  const fixture = gatewayWithBackends();
  let videoId = '';

  beforeAll(async () => {
    videoId = (await upload(fixture.gateway().clients.video, syntheticTiff({ frames: 4 }))).videoId;
    await fixture.backends().s3.stop();
  });

  it('GetVideo and StartAnalysis answer UNAVAILABLE, naming the object store', async () => {
    const gateway = fixture.gateway();
    const unavailable = { code: status.UNAVAILABLE, details: expect.stringMatching(/object store .*unreachable.*retry later/) };
    await expect(call(gateway.clients.video.getVideo.bind(gateway.clients.video), { videoId })).rejects.toMatchObject(unavailable);
    await expect(call(gateway.clients.analysis.startAnalysis.bind(gateway.clients.analysis), { videoId })).rejects.toMatchObject(unavailable);
  });
});
