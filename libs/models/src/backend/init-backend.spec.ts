import * as tf from '@tensorflow/tfjs';
import { InvalidInputError, PreconditionError } from '@mitosis/core';
import { Conv2DBackpropFilter } from '@tensorflow/tfjs';
import { wasmKernelConfigs } from '../kernels';
import { currentBackend, initBackend } from './init-backend';
import { defaultWasmThreads } from './wasm-threads';
import type { BackendName } from './init-backend';
import type * as InitBackendModule from './init-backend';

describe('initBackend', () => {
  it('fails clearly when tensorflow is asked for and tfjs-node is not installed', async () => {
    const lines: string[] = [];
    const attempt = initBackend({ preferred: 'tensorflow', log: (line) => lines.push(line) });
    await expect(attempt).rejects.toThrow(PreconditionError);
    await expect(initBackend({ preferred: 'tensorflow', log: (line) => lines.push(line) })).rejects.toThrow(
      "backend 'tensorflow' is not available: @tensorflow/tfjs-node-gpu not installed; @tensorflow/tfjs-node not installed",
    );
    expect(lines).toEqual([]);
    expect(currentBackend()).toBeUndefined();
  });

  it('rejects a backend name it does not know', async () => {
    await expect(initBackend({ preferred: 'webgpu' as BackendName })).rejects.toThrow(InvalidInputError);
    await expect(initBackend({ preferred: 'webgpu' as BackendName })).rejects.toThrow(/unknown backend 'webgpu'/);
  });

  it('picks wasm here, with SIMD and a thread per core, logs it once and registers the project kernels', async () => {
    const lines: string[] = [];
    const log = (line: string): void => {
      lines.push(line);
    };
    const info = await initBackend({ log });
    expect(info).toEqual({
      name: 'wasm',
      simd: true,
      threads: defaultWasmThreads(),
      reason: '@tensorflow/tfjs-node-gpu not installed; @tensorflow/tfjs-node not installed',
    });
    expect(tf.getBackend()).toBe('wasm');
    const threads = defaultWasmThreads();
    expect(lines).toEqual([`backend: wasm (simd, ${threads} thread${threads === 1 ? '' : 's'}): @tensorflow/tfjs-node-gpu not installed; @tensorflow/tfjs-node not installed`]);
    expect(tf.getKernel(Conv2DBackpropFilter, 'wasm')).toBe(wasmKernelConfigs[0]);

    // Idempotent: the same answer, no second log line, and wasm made current again if needed.
    await tf.setBackend('cpu');
    expect(await initBackend({ log })).toBe(info);
    expect(await initBackend({ preferred: 'wasm', log })).toBe(info);
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toHaveLength(1);
    expect(currentBackend()).toBe(info);
  });

  it('forces the cpu backend when asked, then keeps it as the choice', async () => {
    const lines: string[] = [];
    const info = await initBackend({ preferred: 'cpu', log: (line) => lines.push(line) });
    expect(info).toEqual({ name: 'cpu', reason: 'requested' });
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual(['backend: cpu: requested']);
    expect(await initBackend()).toBe(info);
  });

  it('runs concurrent first calls once, with one log line', async () => {
    // A fresh copy of the module (and of tfjs), as in a process that has chosen nothing yet.
    let fresh: typeof InitBackendModule | undefined;
    jest.isolateModules(() => {
      fresh = require('./init-backend') as typeof InitBackendModule;
    });
    const lines: string[] = [];
    const log = (line: string): void => {
      lines.push(line);
    };
    const [a, b] = await Promise.all([fresh!.initBackend({ log }), fresh!.initBackend({ log })]);
    expect(a).toBe(b);
    expect(a.name).toBe('wasm');
    expect(lines).toHaveLength(1);
  });
});
