import { InvalidInputError } from '@mitosis/core';
import { loadGatewayConfig } from './config';

const minimal = { MITOSIS_NATS_URL: 'nats://nats:4222', MITOSIS_STORE: 'file:///var/mitosis', MITOSIS_UPLOAD_DIR: '/var/uploads' };

describe('loadGatewayConfig', () => {
  it("reads the NATS credentials with the services' parser", () => {
    expect(loadGatewayConfig(minimal).natsCredentials).toBeUndefined();
    expect(loadGatewayConfig({ ...minimal, MITOSIS_NATS_USER: 'gw', MITOSIS_NATS_PASSWORD: 'gwpass' }).natsCredentials).toEqual({
      kind: 'user-password',
      user: 'gw',
      password: 'gwpass',
    });
    expect(loadGatewayConfig({ ...minimal, MITOSIS_NATS_TOKEN: 'gwtoken' }).natsCredentials).toEqual({ kind: 'token', token: 'gwtoken' });
    expect(loadGatewayConfig({ ...minimal, MITOSIS_NATS_CREDS: '/run/gw.creds' }).natsCredentials).toEqual({ kind: 'creds-file', file: '/run/gw.creds' });
  });

  it('reports a half pair of NATS credentials with its own problems, without the values', () => {
    let message = '';
    try {
      loadGatewayConfig({ ...minimal, MITOSIS_NATS_USER: 'gw', MITOSIS_UPLOAD_DIR: 'relative' });
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(InvalidInputError);
      message = (error as Error).message;
    }
    expect(message).toBe(
      'configuration: MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD go together: MITOSIS_NATS_PASSWORD is not set; MITOSIS_UPLOAD_DIR "relative" must be an absolute path',
    );
  });

  it('reads the store timeout and the staging age limit, with their defaults', () => {
    expect(loadGatewayConfig(minimal)).toMatchObject({ storeTimeoutMs: 10_000, stagingMaxAgeMs: 3_600_000 });
    expect(loadGatewayConfig({ ...minimal, MITOSIS_STORE_TIMEOUT_MS: '2500', MITOSIS_UPLOAD_STAGING_MAX_AGE_S: '600' })).toMatchObject({
      storeTimeoutMs: 2500,
      stagingMaxAgeMs: 600_000,
    });
    expect(() => loadGatewayConfig({ ...minimal, MITOSIS_STORE_TIMEOUT_MS: '0', MITOSIS_UPLOAD_STAGING_MAX_AGE_S: '1h' })).toThrow(
      'configuration: MITOSIS_STORE_TIMEOUT_MS "0" must be a whole number >= 1; MITOSIS_UPLOAD_STAGING_MAX_AGE_S "1h" must be a whole number >= 1',
    );
  });

  it('refuses credentials inside MITOSIS_NATS_URL, pointing to the variables', () => {
    expect(() => loadGatewayConfig({ ...minimal, MITOSIS_NATS_URL: 'nats://gw:gwpass@nats:4222' })).toThrow(
      /MITOSIS_NATS_URL "nats:\/\/\*\*\*@nats:4222" holds credentials.*MITOSIS_NATS_USER and MITOSIS_NATS_PASSWORD/,
    );
  });
});
