import { Command, CommanderError } from 'commander';
import { exitCodeFor, exitCodes, isMitosisError } from '@mitosis/core';
import { commands } from './commands';

/** Builds the `mitosis` program with every command registered; `main.ts` only runs it. */
export function createProgram(): Command {
  const program = new Command('mitosis')
    .description('Find mitoses in phase-contrast time-lapse videos with a handful of annotated frames.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the program on argv and returns the process exit code; errors become one line on stderr. */
export async function runCli(argv: readonly string[], stderr: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.OK;
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // Commander already printed help, version or the usage error itself.
      return error.exitCode === 0 ? exitCodes.OK : exitCodes.USAGE;
    }
    if (isMitosisError(error)) {
      stderr(`mitosis: ${error.message}`);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      stderr(`mitosis: internal error: ${message}`);
      if (process.env['MITOSIS_DEBUG'] && error instanceof Error && error.stack) stderr(error.stack);
    }
    return exitCodeFor(error);
  }
}
