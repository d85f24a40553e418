import { randomBytes } from 'node:crypto';

/**
 * New server-assigned ids: a kind prefix, the time (so ids sort roughly by creation, which helps
 * people reading a bucket listing) and 64 random bits (so replicas never collide).
 */
export function newId(kind: 'vid' | 'job' | 'ann' | 'mdl' | 'upl', now: Date = new Date()): string {
  const time = now.getTime().toString(36).padStart(9, '0');
  return `${kind}-${time}-${randomBytes(8).toString('hex')}`;
}
