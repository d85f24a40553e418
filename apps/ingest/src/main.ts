import { WORKER_STAGES } from '@mitosis/events';
import { runWorkerMain } from '@mitosis/service-kit';

/**
 * The ingest worker: decodes an uploaded video, rescales and downscales its frames, and stores them (method step 1).
 * Wiring only; see libs/service-kit/README.md for the MITOSIS_* variables.
 */
void runWorkerMain({ service: 'ingest', stages: WORKER_STAGES.ingest, description: 'decodes, rescales and downscales uploaded videos (method step 1)' });
