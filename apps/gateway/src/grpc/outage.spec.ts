import { MitosisError } from '@mitosis/core';
import { NatsError } from 'nats';
import { unreachableBackend } from './outage';

const systemError = (code: string): Error => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code });

describe('unreachableBackend', () => {
  it('names the job queue for a nats.js error of a lost or silent connection, at any depth', () => {
    expect(unreachableBackend(new NatsError('TIMEOUT', 'TIMEOUT'))).toBe('job queue (NATS)');
    expect(unreachableBackend(new MitosisError('INTERNAL', 'job record', { cause: new NatsError('CONNECTION_CLOSED', 'CONNECTION_CLOSED') }))).toBe('job queue (NATS)');
    expect(unreachableBackend(new NatsError('CONNECTION_REFUSED', 'CONNECTION_REFUSED', systemError('ECONNREFUSED')))).toBe('job queue (NATS)');
  });

  it('names the object store for a refused, reset or timed-out connection elsewhere', () => {
    expect(unreachableBackend(new MitosisError('INTERNAL', 'S3 get failed', { cause: systemError('ECONNREFUSED') }))).toBe('object store');
    expect(unreachableBackend(new AggregateError([systemError('ETIMEDOUT')]))).toBe('object store');
  });

  it('leaves other errors alone', () => {
    expect(unreachableBackend(new NatsError('PERMISSIONS_VIOLATION', 'PERMISSIONS_VIOLATION'))).toBeUndefined();
    expect(unreachableBackend(systemError('ENOENT'))).toBeUndefined();
    expect(unreachableBackend(new MitosisError('INTERNAL', 'a bug'))).toBeUndefined();
    expect(unreachableBackend('text')).toBeUndefined();
  });
});
