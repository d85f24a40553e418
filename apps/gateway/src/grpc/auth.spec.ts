import { Metadata } from '@grpc/grpc-js';
import { bearerAuthenticator } from './auth';

const withAuthorization = (value?: string): Metadata => {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set('authorization', value);
  return metadata;
};

describe('bearerAuthenticator', () => {
  const authenticate = bearerAuthenticator(['first-token-0123456789', 'second-token-0123456789']);

  it('accepts any configured token, with any case of the scheme', () => {
    expect(() => authenticate(withAuthorization('Bearer first-token-0123456789'))).not.toThrow();
    expect(() => authenticate(withAuthorization('bearer   second-token-0123456789 '))).not.toThrow();
  });

  it.each([
    [undefined, 'missing'],
    ['first-token-0123456789', 'must be "Bearer <token>"'],
    ['Basic first-token-0123456789', 'must be "Bearer <token>"'],
    ['Bearer first-token-012345678', 'not accepted'],
    ['Bearer first-token-0123456789x', 'not accepted'],
  ])('refuses %p as UNAUTHENTICATED (%s)', (value, why) => {
    expect(() => authenticate(withAuthorization(value))).toThrow(expect.objectContaining({ kind: 'UNAUTHENTICATED', message: expect.stringContaining(why) }));
  });

  it('lets everything through when no token is configured', () => {
    expect(() => bearerAuthenticator([])(withAuthorization())).not.toThrow();
  });
});
