import path from 'node:path';
import { itRunsAsWorkerProcess, workerProcessFixture } from '@mitosis/testing';

/** The m3 worker as a real process: started by its launcher, ready, stopped by SIGTERM. */
const worker = workerProcessFixture('m3', path.join(__dirname, '..', 'start.js'));

describe('m3 worker process', () => {
  itRunsAsWorkerProcess({ service: 'm3', stages: ['m3-train', 'm3-detect'], description: 'paper', worker });
});
