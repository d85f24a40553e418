import { WORKER_STAGES } from '@mitosis/events';
import { runWorkerMain } from '@mitosis/service-kit';

/**
 * The m1 worker: learns the normal-cell map of a video (M1, paper III.C).
 * Wiring only; see libs/service-kit/README.md for the MITOSIS_* variables.
 */
void runWorkerMain({ service: 'm1', stages: WORKER_STAGES.m1, description: 'learns the normal-cell map of a video (M1, paper III.C)' });
