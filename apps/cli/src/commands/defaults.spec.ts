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
  const defaults: Record<string, Record<string, string | number>> = {
    analyze: {
      '--factor': D.factor,
      '--m1-iterations': D.m1.iterations,
      '--m2-iterations': D.m2.iterations,
      '--crop': D.m1.crop,
      '--m2-batch': D.m2.batch,
      '--m2-positive-weight': D.m2.positiveWeight,
      '--m2-loss-margin': D.m2.lossMargin,
      '--sequence-length': D.m2.sequenceLength,
      '--erosions': D.cleaning.erosions,
      '--min-area': D.cleaning.minArea,
      '--min-frames': D.cleaning.minFrames,
      '--m2-runs': D.m2.runs,
      '--seed': D.seed,
    },
    train: {
      '--factor': D.factor,
      '--iterations': D.m3.iterations,
      '--crop': D.m3.crop,
      '--batch': D.m3.batch,
      '--positive-weight': D.m3.positiveWeight,
      '--threshold': D.m3.threshold,
      '--seed': D.seed,
    },
    detect: { '--merge-distance': D.m3.mergeDistance },
  };
  const rows = Object.entries(defaults).flatMap(([command, options]) => Object.entries(options).map(([name, value]) => [command, name, value] as const));

  it.each(rows)('mitosis %s %s defaults to METHOD_DEFAULTS (%s)', (command, name, value) => {
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
