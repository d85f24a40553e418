import { OVERLAYS, checkOverlay } from './overlays';

/**
 * `npx tsx deploy/src/main.ts check [overlay...]`: renders each overlay with `kubectl kustomize`
 * and prints its schema and rule problems; exit 1 if any.
 */
function main(argv: readonly string[]): number {
  const [command, ...names] = argv;
  if (command === 'check') {
    let failed = 0;
    for (const name of names.length > 0 ? names : Object.keys(OVERLAYS)) {
      const { objects, problems } = checkOverlay(name);
      process.stdout.write(`${name}: ${objects.length} objects, ${problems.length} problems\n`);
      for (const problem of problems) process.stdout.write(`  ${problem}\n`);
      failed += problems.length;
    }
    return failed === 0 ? 0 : 1;
  }
  process.stderr.write('usage: main.ts check [overlay...]\n');
  return 2;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error: unknown) {
  process.stderr.write(`deploy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 3;
}
