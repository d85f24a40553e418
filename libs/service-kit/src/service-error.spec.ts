import { Metadata, status } from '@grpc/grpc-js';
import { InvalidInputError, MitosisError, NotFoundError, PreconditionError, ResourceExhaustedError } from '@mitosis/core';
import { toServiceError } from './service-error';

describe('toServiceError', () => {
  it.each([
    [new InvalidInputError('frame range 5:2 is empty'), status.INVALID_ARGUMENT],
    [new NotFoundError('video v9 not found'), status.NOT_FOUND],
    [new PreconditionError('the job has not SUCCEEDED'), status.FAILED_PRECONDITION],
    [new ResourceExhaustedError('upload exceeds 2 GiB'), status.RESOURCE_EXHAUSTED],
    [new MitosisError('ALREADY_EXISTS', 'job j1 already exists'), status.ALREADY_EXISTS],
    [new MitosisError('UNAUTHENTICATED', 'no bearer token'), status.UNAUTHENTICATED],
    [new MitosisError('CANCELLED', 'the job was cancelled'), status.CANCELLED],
  ])('maps %s to its status and keeps the message', (error, code) => {
    const log = { error: jest.fn() };
    const out = toServiceError(error, log);
    expect(out.code).toBe(code);
    expect(out.details).toBe(error.message);
    expect(out.metadata).toBeInstanceOf(Metadata);
    expect(log.error).not.toHaveBeenCalled();
  });

  it('maps a kind carried by shape (an error from a stage thread)', () => {
    expect(toServiceError({ kind: 'NOT_FOUND', message: 'no model m1' }).code).toBe(status.NOT_FOUND);
  });

  it.each([
    ['an unknown error', new TypeError('cannot read properties of undefined (reading "x") at /srv/app.ts')],
    ['an INTERNAL MitosisError', new MitosisError('INTERNAL', 'S3 get failed on minio.internal:9000/bucket', { cause: new Error('ECONNRESET') })],
    ['a thrown string', 'boom at 10.0.0.7'],
    ['an unknown kind', Object.assign(new Error('odd'), { kind: 'TEAPOT' })],
  ])('turns %s into INTERNAL with a generic message, logging the cause under an incident id', (_what, error) => {
    const log = { error: jest.fn() };
    const out = toServiceError(error, log);
    expect(out.code).toBe(status.INTERNAL);
    expect(out.details).toMatch(/^internal error \(incident [0-9a-f-]{36}\)$/);
    expect(out.details).not.toMatch(/minio|10\.0\.0\.7|app\.ts|odd/);
    expect(log.error).toHaveBeenCalledTimes(1);
    const [, fields] = log.error.mock.calls[0] as [string, { incident: string; error: unknown }];
    expect(out.details).toContain(fields.incident);
    expect(fields.error).toBe(error);
  });

  it('passes a gRPC status through, but not a Node system error code', () => {
    const grpc = toServiceError({ code: status.PERMISSION_DENIED, details: 'no', metadata: new Metadata() });
    expect([grpc.code, grpc.details]).toEqual([status.PERMISSION_DENIED, 'no']);
    const system = toServiceError(Object.assign(new Error('connect ECONNREFUSED 10.1.1.1:4222'), { code: 'ECONNREFUSED' }));
    expect(system.code).toBe(status.INTERNAL);
  });
});
