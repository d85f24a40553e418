import { NatsError } from 'nats';
import { isNatsOutage } from './nats-errors';

describe('isNatsOutage', () => {
  it('knows a timed out request, a lost connection and a JetStream that does not answer', () => {
    for (const code of ['TIMEOUT', 'DISCONNECT', 'CONNECTION_REFUSED', '503']) expect(isNatsOutage(new NatsError(code, code))).toBe(true);
    expect(isNatsOutage(new Error('job record not written', { cause: new NatsError('TIMEOUT', 'TIMEOUT') }))).toBe(true);
  });

  it('leaves answers, a closed connection and other errors alone', () => {
    expect(isNatsOutage(new NatsError('BAD API', 'BAD API'))).toBe(false);
    expect(isNatsOutage(new NatsError('CONNECTION_CLOSED', 'CONNECTION_CLOSED'))).toBe(false);
    expect(isNatsOutage(Object.assign(new Error('socket'), { code: 'TIMEOUT' }))).toBe(false);
    expect(isNatsOutage('TIMEOUT')).toBe(false);
  });
});
