import type { Command } from 'commander';
import { registerInfo } from './info';
import { registerScore } from './score';
import { registerSynth } from './synth';

/** A command module registers itself on the program; the list below is the whole CLI. */
export type RegisterCommand = (program: Command) => void;

export const commands: readonly RegisterCommand[] = [
  registerInfo,
  registerScore,
  registerSynth,
];
