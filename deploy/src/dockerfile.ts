import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '@mitosis/core';

/** One instruction of a Dockerfile, continuation lines joined; `line` is where it starts. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string | undefined;
  /** The FROM image or earlier stage, ARG references left as written. */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/**
 * Parses a Dockerfile into its stages: comments and parser directives dropped, `\` continuations
 * joined, `FROM image [AS name]` opening each stage. Instructions before the first FROM may only
 * be ARG.
 */
export function parseDockerfile(text: string, source: string): { args: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) continue;
    // Comment and empty lines inside a continuation are skipped, as Docker does.
    if (pending !== undefined && (trimmed === '' || trimmed.startsWith('#'))) continue;
    const continued = trimmed.endsWith('\\');
    const body = continued ? trimmed.slice(0, -1).trimEnd() : trimmed;
    pending = pending === undefined ? { text: body, line: index + 1 } : { text: `${pending.text} ${body}`, line: pending.line };
    if (continued) continue;
    const match = /^([A-Za-z]+)\s*(.*)$/.exec(pending.text.trim());
    if (match === null) throw new InvalidInputError(`${source}:${pending.line}: not an instruction`);
    instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim(), line: pending.line });
    pending = undefined;
  }
  if (pending !== undefined) throw new InvalidInputError(`${source}:${pending.line}: the last instruction ends with a continuation`);
  const args: Instruction[] = [];
  const stages: { name: string | undefined; from: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (match === null) throw new InvalidInputError(`${source}:${instruction.line}: FROM "${instruction.args}" is not "image [AS name]"`);
      stages.push({ from: match[1] ?? '', name: match[2]?.toLowerCase(), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new InvalidInputError(`${source}:${instruction.line}: ${instruction.keyword} before the first FROM`);
      args.push(instruction);
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new InvalidInputError(`${source}: no FROM`);
  return { args, stages };
}

/** The stage and the earlier stages it is built FROM, nearest first. */
export function stageChain(stages: readonly Stage[], name: string): Stage[] {
  const chain: Stage[] = [];
  let current = stages.find((s) => s.name === name);
  while (current !== undefined && !chain.includes(current)) {
    chain.push(current);
    const parent = current.from.toLowerCase();
    current = stages.find((s) => s.name === parent);
  }
  return chain;
}

/** The USER a target runs as (its own or inherited from the stages it is built FROM); undefined = root. */
export function effectiveUser(stages: readonly Stage[], name: string): string | undefined {
  for (const stage of stageChain(stages, name)) {
    const users = stage.instructions.filter((i) => i.keyword === 'USER');
    const last = users[users.length - 1];
    if (last !== undefined) return last.args;
  }
  return undefined;
}

export function isNonRootUser(user: string | undefined): boolean {
  if (user === undefined) return false;
  const [name = '', group] = user.split(':');
  return name !== '' && name !== 'root' && name !== '0' && group !== '0' && group !== 'root';
}

/** The CMD of a target (exec form), inherited like USER. */
export function effectiveCmd(stages: readonly Stage[], name: string, source: string): string[] | undefined {
  for (const stage of stageChain(stages, name)) {
    const cmds = stage.instructions.filter((i) => i.keyword === 'CMD');
    const last = cmds[cmds.length - 1];
    if (last === undefined) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(last.args);
    } catch (error: unknown) {
      throw new InvalidInputError(`${source}:${last.line}: CMD is not in exec (JSON) form, so SIGTERM would reach a shell, not node`, { cause: error });
    }
    if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new InvalidInputError(`${source}:${last.line}: CMD is not a list of strings`);
    return parsed as string[];
  }
  return undefined;
}

/**
 * The build-context sources of every COPY/ADD without --from that do not exist under `root`
 * (a missing one fails the build), each as `file:line path`.
 */
export function missingCopySources(stages: readonly Stage[], root: string, source: string): string[] {
  const missing: string[] = [];
  for (const stage of stages) {
    for (const instruction of stage.instructions) {
      if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
      const words = instruction.args.split(/\s+/);
      if (words.some((w) => w.startsWith('--from='))) continue;
      const paths = words.filter((w) => !w.startsWith('--'));
      for (const copied of paths.slice(0, -1)) {
        if (!existsSync(path.join(root, copied))) missing.push(`${source}:${instruction.line} ${copied}`);
      }
    }
  }
  return missing;
}
