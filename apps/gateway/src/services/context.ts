import type { JobStarterDeps } from '../jobs/start';
import type { JobResults } from '../jobs/results';
import type { UploadLimits } from '../upload/receive-upload';

/** What every service implementation is built from (closures over it, no container). */
export interface ServiceContext extends JobStarterDeps {
  readonly results: JobResults;
  readonly limits: UploadLimits;
}
