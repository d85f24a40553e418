import { randomUUID } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import type { ErrorKind } from '@mitosis/core';

/** The gRPC status of each @mitosis/core error kind (the CLI maps the same kinds to exit codes). */
export const GRPC_STATUS_BY_KIND: Readonly<Record<ErrorKind, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  CANCELLED: status.CANCELLED,
  INTERNAL: status.INTERNAL,
};

/** Where toServiceError writes what the client must not see. */
export interface ErrorLog {
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Turns anything thrown into the error a grpc-js handler passes to its callback (or emits on a
 * stream). A @mitosis/core error of a client-facing kind keeps its message: it names the bad
 * input. INTERNAL errors and anything else (a bug, a network error with host names in it) become
 * INTERNAL with a generic message and an incident id; the real error, its cause and stack go to
 * `log` under that id, never to the client. A value that already is a gRPC status passes through.
 */
export function toServiceError(error: unknown, log?: ErrorLog): ServiceError {
  if (isGrpcStatus(error)) {
    return make(error.code, error.details, error.metadata instanceof Metadata ? error.metadata : new Metadata());
  }
  const kind = kindOf(error);
  if (kind !== undefined && kind !== 'INTERNAL') {
    return make(GRPC_STATUS_BY_KIND[kind], messageOf(error));
  }
  const incident = randomUUID();
  log?.error('internal error', { incident, error });
  return make(status.INTERNAL, `internal error (incident ${incident})`);
}

function make(code: status, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

function kindOf(error: unknown): ErrorKind | undefined {
  // By shape, not instanceof: errors from a stage thread or another copy of @mitosis/core carry a kind too.
  const kind = typeof error === 'object' && error !== null ? (error as { kind?: unknown }).kind : undefined;
  return typeof kind === 'string' && kind in GRPC_STATUS_BY_KIND ? (kind as ErrorKind) : undefined;
}

function messageOf(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message !== '' ? message : String(error);
}

function isGrpcStatus(error: unknown): error is { code: status; details: string; metadata?: unknown } {
  if (typeof error !== 'object' || error === null) return false;
  const { code, details } = error as { code?: unknown; details?: unknown };
  // Node system errors have string codes ('ECONNRESET'): only a numeric status code counts.
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16 && typeof details === 'string';
}
