import { Metadata, status } from '@grpc/grpc-js';
import { call, gatewayForSpec } from '../testing/harness';

const TOKEN = 'spec-token-0123456789';
const gateway = gatewayForSpec({ authTokens: [TOKEN] });

const getJobWith = (authorization: string) => {
  const metadata = new Metadata();
  metadata.set('authorization', authorization);
  return call(gateway.clients.job.getJob.bind(gateway.clients.job), { jobId: 'job-x' }, metadata);
};

describe('a malformed bearer token over the wire', () => {
  it.each([
    [`Bearer ${TOKEN} `, /malformed.*token followed by a space/],
    ['Bearer ', /malformed.*empty "Bearer "/],
    ['Bearer', /the bearer token is empty/],
    [`Bearer ${TOKEN} x`, /the bearer token is malformed/],
  ])('%p is UNAUTHENTICATED as malformed, not only as missing', async (value, message) => {
    await expect(getJobWith(value)).rejects.toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringMatching(message) });
  });

  it('the exact token passes authentication (the job is then unknown)', async () => {
    await expect(getJobWith(`Bearer ${TOKEN}`)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });
});
