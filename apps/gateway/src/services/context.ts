import type { JobStarterDeps } from '../jobs/start';
import type { JobResults } from '../jobs/results';
import type { UploadLimits } from '../upload/receive-upload';
import type { WorkLimits } from '@mitosis/stages';

/** What every service implementation is built from (closures over it, no container). */
export interface ServiceContext extends JobStarterDeps {
  readonly results: JobResults;
  readonly limits: UploadLimits;
  /** The most work one request may ask for (iterations, crops, batch...). */
  readonly workLimits: WorkLimits;
}
