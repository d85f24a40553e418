import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * Starts a benchmark script's `main`. tsx resolves the @mitosis/* aliases only from the tsconfig it
 * is pointed at, so without TSX_TSCONFIG_PATH the script runs itself again with the workspace's
 * tsconfig.base.json; failures print one line prefixed by `label` and exit 1.
 */
export function runBenchmark(file: string, label: string, main: () => Promise<void>): void {
  if (process.env['TSX_TSCONFIG_PATH'] === undefined) {
    const rerun = spawnSync(process.execPath, [...process.execArgv, file, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, TSX_TSCONFIG_PATH: path.join(__dirname, '..', '..', 'tsconfig.base.json') },
    });
    process.exit(rerun.status ?? 1);
  }
  main().catch((error: unknown) => {
    console.error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
