import type { Command } from 'commander';
import { registerAnalyze } from './analyze';
import { registerDemo } from './demo';
import { registerDetect } from './detect';
import { registerInfo } from './info';
import { registerPlate } from './plate';
import { registerScore } from './score';
import { registerSynth } from './synth';
import { registerTrain } from './train';
import { registerValidate } from './validate';

/** A command module registers itself on the program; the list below is the whole CLI. */
export type RegisterCommand = (program: Command) => void;

export const commands: readonly RegisterCommand[] = [
  registerInfo,
  registerScore,
  registerAnalyze,
  registerTrain,
  registerDetect,
  registerDemo,
  registerSynth,
  registerValidate,
  registerPlate,
];
