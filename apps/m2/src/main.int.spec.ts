import path from 'node:path';
import { itRunsAsWorkerProcess, workerProcessFixture } from '@mitosis/testing';

/** The m2 worker as a real process: started by its launcher, ready, stopped by SIGTERM. */
const worker = workerProcessFixture('m2', path.join(__dirname, '..', 'start.js'));

describe('m2 worker process', () => {
  itRunsAsWorkerProcess({ service: 'm2', stages: ['m2'], description: 'paper', worker });
});
