import path from 'node:path';
import { itRunsAsWorkerProcess, workerProcessFixture } from '@mitosis/testing';

/** The ingest worker as a real process: started by its launcher, ready, stopped by SIGTERM. */
const worker = workerProcessFixture('ingest', path.join(__dirname, '..', 'start.js'));

describe('ingest worker process', () => {
  itRunsAsWorkerProcess({ service: 'ingest', stages: ['ingest'], description: 'method step 1', worker });
});
