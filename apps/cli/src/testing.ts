import { runCli } from './program';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  /** The one-line errors `runCli` reported. */
  readonly errors: string[];
}

/** Runs the CLI in-process for specs, capturing stdout and the error lines (stderr is silenced). */
export async function runCliCaptured(args: readonly string[]): Promise<CliResult> {
  let stdout = '';
  const errors: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await runCli(args, (line) => errors.push(line));
    return { code, stdout, errors };
  } finally {
    write.mockRestore();
    stderr.mockRestore();
  }
}
