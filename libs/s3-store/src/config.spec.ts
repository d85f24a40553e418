import { InvalidInputError } from '@mitosis/core';
import { describeS3Location, normalizeS3Config, parseS3Url } from './config';

describe('parseS3Url', () => {
  it('reads credentials, host, port, bucket, prefix and parameters', () => {
    expect(parseS3Url('s3://minio:s3cr%2Ft@minio.svc:9000/tensors/runs/42?ssl=false&partSize=16MiB&region=eu-west-1&checkEtag=0')).toEqual({
      endPoint: 'minio.svc',
      port: 9000,
      useSSL: false,
      accessKey: 'minio',
      secretKey: 's3cr/t',
      bucket: 'tensors',
      prefix: 'runs/42',
      partSize: 16 * 1024 * 1024,
      region: 'eu-west-1',
      checkEtag: false,
    });
  });

  it('defaults to TLS on its default port, no prefix, and ignores a trailing slash', () => {
    const config = parseS3Url('s3://k:s@s3.example.org/bucket-1/');
    expect(config).toEqual({ endPoint: 's3.example.org', useSSL: true, accessKey: 'k', secretKey: 's', bucket: 'bucket-1' });
    expect(normalizeS3Config(config).port).toBe(443);
    expect(normalizeS3Config({ ...config, useSSL: false }).port).toBe(80);
    expect(describeS3Location(parseS3Url('s3://k:s@h:9000/b12/p/q'))).toBe('s3://h:9000/b12/p/q');
  });

  it('names what is wrong and never shows the secret', () => {
    const cases: [string, RegExp][] = [
      ['http://k:topsecret@h/b', /scheme "http:" is not s3:/],
      ['s3://k:topsecret@h', /no bucket/],
      ['s3://k:topsecret@h/Bad_Bucket', /bucket name "Bad_Bucket"/],
      ['s3://h:9000/bucket', /credentials for bucket "bucket" are missing/],
      ['s3://k:topsecret@h/bucket?ssl=maybe', /ssl=maybe is not true\/false/],
      ['s3://k:topsecret@h/bucket?partSize=1MiB', /partSize 1048576 is outside 5 MiB..5 GiB/],
      ['s3://k:topsecret@h/bucket?partSize=lots', /partSize=lots is not a byte count/],
      ['s3://k:topsecret@h/bucket?tls=1', /unknown parameter "tls"/],
      ['s3://k:topsecret@h:99999/b', /S3 URL "s3:\/\/\*\*\*@h:99999\/b" is not a URL/],
    ];
    for (const [url, message] of cases) {
      let caught: unknown;
      try {
        parseS3Url(url);
      } catch (error: unknown) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidInputError);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain('topsecret');
    }
  });
});

describe('normalizeS3Config', () => {
  const base = { endPoint: 'h', useSSL: false, accessKey: 'k', secretKey: 's', bucket: 'bucket' };
  it('fills the defaults', () => {
    expect(normalizeS3Config(base)).toEqual({ ...base, port: 80, prefix: '', partSize: 64 * 1024 * 1024, region: 'us-east-1', checkEtag: true });
  });
  it('refuses an endpoint with a scheme or port, a bad port and a prefix with slashes at its ends', () => {
    expect(() => normalizeS3Config({ ...base, endPoint: 'http://h' })).toThrow(/endPoint "http:\/\/h" is not a host name/);
    expect(() => normalizeS3Config({ ...base, endPoint: 'h:9000' })).toThrow(/endPoint/);
    expect(() => normalizeS3Config({ ...base, port: 70000 })).toThrow(/port 70000/);
    expect(() => normalizeS3Config({ ...base, prefix: '/runs' })).toThrow(/prefix "\/runs"/);
    expect(() => normalizeS3Config({ ...base, prefix: 'runs/' })).toThrow(/prefix "runs\/"/);
    expect(() => normalizeS3Config({ ...base, bucket: '192.168.1.1' })).toThrow(/bucket name/);
  });
});
