/**
 * One error family for the whole project. Science libs throw these; the CLI maps `kind` to an
 * exit code and the gRPC gateway maps it to a status code, so a bad input reads the same through
 * both doors. `cause` is kept for logs, never sent to a client.
 */
export type ErrorKind = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'RESOURCE_EXHAUSTED' | 'ALREADY_EXISTS' | 'UNAUTHENTICATED' | 'CANCELLED' | 'INTERNAL';

export class MitosisError extends Error {
  override readonly name: string = 'MitosisError';
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** A MitosisError of one kind, for the classes below: each only names its kind. */
function errorOfKind<N extends string>(kind: ErrorKind, name: N) {
  return class extends MitosisError {
    override readonly name: N = name;
    constructor(message: string, options?: { cause?: unknown }) {
      super(kind, message, options);
    }
  };
}

/** The input is malformed: corrupt file, wrong shape, empty video, malformed CSV. */
export class InvalidInputError extends errorOfKind('INVALID_ARGUMENT', 'InvalidInputError') {}

/** Something named by id or path does not exist. */
export class NotFoundError extends errorOfKind('NOT_FOUND', 'NotFoundError') {}

/** The request is well formed but the state does not allow it (k larger than the training frames...). */
export class PreconditionError extends errorOfKind('FAILED_PRECONDITION', 'PreconditionError') {}

/** A size or memory limit was exceeded (oversized upload, heap too small). */
export class ResourceExhaustedError extends errorOfKind('RESOURCE_EXHAUSTED', 'ResourceExhaustedError') {}

export function isMitosisError(value: unknown): value is MitosisError {
  return value instanceof MitosisError;
}

/** Exit codes of the `mitosis` command line, one per error kind (documented in the README). */
export const exitCodes: Readonly<Record<ErrorKind | 'OK' | 'USAGE', number>> = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 4,
  FAILED_PRECONDITION: 5,
  RESOURCE_EXHAUSTED: 6,
  ALREADY_EXISTS: 7,
  UNAUTHENTICATED: 8,
  CANCELLED: 9,
};

export function exitCodeFor(error: unknown): number {
  return isMitosisError(error) ? exitCodes[error.kind] : exitCodes.INTERNAL;
}
