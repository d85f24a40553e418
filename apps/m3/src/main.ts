import { WORKER_STAGES } from '@mitosis/events';
import { runWorkerMain } from '@mitosis/service-kit';

/**
 * The m3 worker: trains the mitosis detector on annotated frames and runs it over videos (M3, paper III.F-G).
 * Wiring only; see libs/service-kit/README.md for the MITOSIS_* variables.
 */
void runWorkerMain({ service: 'm3', stages: WORKER_STAGES.m3, description: 'trains and runs the mitosis detector (M3, paper III.F-G)' });
