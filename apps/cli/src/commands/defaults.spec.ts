import type { Command } from 'commander';
import { METHOD_DEFAULTS as D } from '@mitosis/stages';
import { createProgram } from '../program';

/** The default commander holds for `--name` of `command`. */
function optionDefault(command: string, name: string): unknown {
  const found = createProgram().commands.find((c: Command) => c.name() === command);
  const option = found?.options.find((o) => o.long === name);
  if (option === undefined) throw new Error(`mitosis ${command} has no ${name}`);
  return option.defaultValue;
}

describe("the CLI's option defaults", () => {
  it.each([
    ['analyze', '--factor', D.factor],
    ['analyze', '--m1-iterations', D.m1.iterations],
    ['analyze', '--m2-iterations', D.m2.iterations],
    ['analyze', '--crop', D.m1.crop],
    ['analyze', '--m2-batch', D.m2.batch],
    ['analyze', '--m2-positive-weight', D.m2.positiveWeight],
    ['analyze', '--m2-loss-margin', D.m2.lossMargin],
    ['analyze', '--sequence-length', D.m2.sequenceLength],
    ['analyze', '--erosions', D.cleaning.erosions],
    ['analyze', '--min-area', D.cleaning.minArea],
    ['analyze', '--min-frames', D.cleaning.minFrames],
    ['analyze', '--m2-runs', D.m2.runs],
    ['analyze', '--seed', D.seed],
    ['train', '--factor', D.factor],
    ['train', '--iterations', D.m3.iterations],
    ['train', '--crop', D.m3.crop],
    ['train', '--batch', D.m3.batch],
    ['train', '--positive-weight', D.m3.positiveWeight],
    ['train', '--threshold', D.m3.threshold],
    ['train', '--seed', D.seed],
    ['detect', '--merge-distance', D.m3.mergeDistance],
  ] as const)('mitosis %s %s defaults to METHOD_DEFAULTS (%s)', (command, name, value) => {
    expect(optionDefault(command, name)).toBe(String(value));
  });

  it('flat-field correct unless --no-flat-field, as METHOD_DEFAULTS', () => {
    expect(D.flatField).toBe(true);
    expect(
      createProgram()
        .commands.find((c) => c.name() === 'train')
        ?.opts()['flatField'],
    ).toBe(D.flatField);
  });
});
