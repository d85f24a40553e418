import { Metadata } from '@grpc/grpc-js';
import type { ServiceError, status } from '@grpc/grpc-js';

/**
 * A ServiceError made here (health's NOT_FOUND, DEADLINE_EXCEEDED at the boundary). Everything a
 * handler throws goes through service-kit's toServiceError instead (core error kinds to status
 * codes; causes to the log, an incident id to the client).
 */
export function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}
