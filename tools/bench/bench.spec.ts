import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '@mitosis/core';
import { initBackend } from '@mitosis/models';
import { sharedPath } from '@mitosis/testing';
import { convGflop, formatTable, leakStable, parseModels, parseSize, peerScript, runBench } from './bench-lib';

/** The CI smoke run of the benchmark: a tiny size, one iteration, no peer; seconds only. */
describe('model benchmark (smoke)', () => {
  beforeAll(async () => {
    await initBackend({ preferred: 'wasm', log: () => undefined });
  });

  it('times every model at a tiny size and finds no leak', async () => {
    const lines: string[] = [];
    const rows = await runBench({
      models: ['m1', 'm2', 'm3'],
      sizes: [{ height: 12, width: 10 }],
      k: 2,
      iterations: 1,
      peer: false,
      peerThreads: [1],
      leakIterations: 3,
      leakSize: { height: 8, width: 8 },
      profile: false,
      log: (line) => lines.push(line),
    });
    expect(rows.map((r) => [r.model, r.size, r.k, r.backend])).toEqual([
      ['m1', '12x10', 2, 'wasm'],
      ['m2', '12x10', 2, 'wasm'],
      ['m3', '12x10', 2, 'wasm'],
    ]);
    for (const r of rows) {
      expect(r.trainStepMs).toBeGreaterThan(0);
      expect(r.inferMs).toBeGreaterThan(0);
      expect(r.peerTrainStepMs).toBeNull();
      expect(r.bestConvGflops).toBeGreaterThan(0);
      expect(r.leak).not.toBeNull();
      expect(leakStable(r.leak!)).toBe(true);
    }
    const table = formatTable(rows);
    expect(table.split('\n')[0]).toContain('| model | size | k | train ms | PyTorch train ms | ratio |');
    expect(table).toContain('M3 leak check, 3 training steps at 8x8');
    expect(tf.memory().numTensors).toBe(0);
  });

  it('counts convolution work from layer shapes: 2 flops per multiply-add', () => {
    // One 3x3 conv 17 -> 64 over 8 frames of 128x128: 2 * 131072 * 9 * 17 * 64.
    expect(convGflop([{ shape: [3, 3, 17, 64], pixels: 8 * 128 * 128 }])).toBeCloseTo((2 * 131072 * 9 * 17 * 64) / 1e9, 9);
    expect(convGflop([])).toBe(0);
  });

  it('parses sizes and model lists, naming what is wrong', () => {
    expect(parseSize('259x344')).toEqual({ height: 259, width: 344 });
    expect(() => parseSize('128')).toThrow(InvalidInputError);
    expect(() => parseSize('0x5')).toThrow(/at least 1x1/);
    expect(parseModels('M3,m1')).toEqual(['m3', 'm1']);
    expect(() => parseModels('m4')).toThrow(/model 'm4' is not one of m1, m2, m3/);
  });

  it('finds the M3 peer in the shared folder and the M1/M2 peers beside the benchmark', () => {
    expect(peerScript('m3')).toBe(sharedPath('peer', 'm3_torch.py'));
    expect(peerScript('m1')).toMatch(/tools[/\\]bench[/\\]peer_m1\.py$/);
  });
});
