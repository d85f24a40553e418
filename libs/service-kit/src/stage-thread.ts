import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '@mitosis/models';
import type { BackendInfo } from '@mitosis/models';
import { executeStage } from './stage-execution';
import type { FromThread, ThreadData, ToThread } from './stage-runner';
import { serializeError } from './stage-runner';
import type { ServiceStore } from './store';
import { createStore } from './store';

/**
 * The body of a stage thread (started by createThreadRunner through stage-thread.js): it owns a
 * tfjs backend and a store of its own and runs one task at a time, posting progress as it goes.
 */
const port = parentPort;
if (port === null) throw new Error('stage-thread.ts runs only as a worker thread');
const data = workerData as ThreadData;
const post = (message: FromThread): void => port.postMessage(message);

let backend: Promise<BackendInfo> | undefined;
let store: Promise<ServiceStore> | undefined;

port.on('message', (message: ToThread) => {
  if (message.type !== 'run') return;
  const { id, task } = message;
  void (async () => {
    try {
      // Kept once they succeed; a failure (S3 unreachable for a moment) is tried again next time.
      backend ??= initBackend({
        ...(data.backend ? { preferred: data.backend } : {}),
        ...(data.wasmThreads ? { threads: data.wasmThreads } : {}),
        log: (line) => post({ type: 'log', level: 'info', message: line }),
      });
      await backend.catch((error: unknown) => {
        backend = undefined;
        throw error;
      });
      store ??= createStore(data.store, {
        log: { warn: (message, fields) => post({ type: 'log', level: 'warn', message, ...(fields ? { fields: plainFields(fields) } : {}) }) },
      });
      const ready = await store.catch((error: unknown) => {
        store = undefined;
        throw error;
      });
      const outcome = await executeStage(task, { store: ready, progress: (event) => post({ type: 'progress', id, event }) });
      post({ type: 'done', id, outcome });
    } catch (error: unknown) {
      post({ type: 'failed', id, error: serializeError(error) });
    }
  })();
});

/** Fields that survive postMessage: errors become their message. */
function plainFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, value instanceof Error ? value.message : value]));
}
