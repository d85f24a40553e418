import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata, sendUnaryData, Server, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { MitosisError } from '@mitosis/core';
import { toServiceError } from '@mitosis/service-kit';

/** Throws UNAUTHENTICATED unless the call's metadata carries an accepted bearer token. */
export type Authenticate = (metadata: Metadata) => void;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * HTTP/2 drops a header value with leading or trailing spaces before a handler sees it, so a
 * token with a trailing space or an empty "Bearer " arrives as no metadata at all: say so.
 */
const NO_AUTHORIZATION =
  'missing or malformed "authorization: Bearer <token>" metadata (a value with a leading or trailing space, such as an empty "Bearer " or a token followed by a space, is dropped on the way)';

/**
 * `authorization: Bearer <token>` against the configured tokens. Tokens are compared as SHA-256
 * digests with timingSafeEqual, so the time taken says nothing about how much of a guess matched.
 * With no tokens configured every call passes (MITOSIS_AUTH_TOKENS empty = no auth).
 */
export function bearerAuthenticator(tokens: readonly string[]): Authenticate {
  const accepted = tokens.map(digest);
  return (metadata) => {
    if (accepted.length === 0) return;
    const values = metadata.get('authorization');
    if (values.length === 0) throw new MitosisError('UNAUTHENTICATED', NO_AUTHORIZATION);
    const match = /^\s*bearer(?:\s+(.*?))?\s*$/i.exec(String(values[0]));
    if (match === null) throw new MitosisError('UNAUTHENTICATED', 'the authorization metadata must be "Bearer <token>"');
    const token = match[1] ?? '';
    if (token === '') throw new MitosisError('UNAUTHENTICATED', 'the bearer token is empty: send "authorization: Bearer <token>"');
    if (/\s/.test(token)) throw new MitosisError('UNAUTHENTICATED', 'the bearer token is malformed: it holds a space');
    const offered = digest(token);
    let ok = false;
    for (const token of accepted) ok = timingSafeEqual(offered, token) || ok;
    if (!ok) throw new MitosisError('UNAUTHENTICATED', 'the bearer token is not accepted');
  };
}

/**
 * Wraps every method of a service implementation so that it first authenticates the call:
 * unary and client-streaming calls are refused through their callback, streaming responses
 * through the call's 'error' event. Works for any service, generated or loaded (reflection).
 */
export function guardImplementation(definition: ServiceDefinition, implementation: UntypedServiceImplementation, authenticate: Authenticate): UntypedServiceImplementation {
  const guarded: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = implementation[name] as ((...args: unknown[]) => void) | undefined;
    if (handler === undefined) continue;
    const respondsWithStream = method.responseStream;
    const wrapped = (call: { metadata: Metadata; emit(event: 'error', error: Error): boolean }, callback?: sendUnaryData<unknown>): void => {
      try {
        authenticate(call.metadata);
      } catch (error: unknown) {
        const refusal = toServiceError(error);
        if (respondsWithStream || callback === undefined) call.emit('error', refusal);
        else callback(refusal);
        return;
      }
      handler(call, callback);
    };
    guarded[name] = wrapped as unknown as UntypedHandleCall;
  }
  return guarded;
}

/** A view of `server` whose addService guards every service it is given (for ReflectionService). */
export function guardedServer(server: Server, authenticate: Authenticate): Pick<Server, 'addService'> {
  return {
    addService: (definition, implementation) => server.addService(definition, guardImplementation(definition, implementation, authenticate)),
  };
}
