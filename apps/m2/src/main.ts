import { WORKER_STAGES } from '@mitosis/events';
import { runWorkerMain } from '@mitosis/service-kit';

/**
 * The m2 worker: predicts cell events on the normal-cell map and measures their lengths (M2, paper III.D-E).
 * Wiring only; see libs/service-kit/README.md for the MITOSIS_* variables.
 */
void runWorkerMain({ service: 'm2', stages: WORKER_STAGES.m2, description: 'measures cell event lengths on the normal-cell map (M2, paper III.D-E)' });
