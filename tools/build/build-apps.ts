/**
 * The production build of the services: each app bundled by esbuild into
 * `dist/apps/<name>/main.js` (CommonJS for Node 20, the @mitosis/* aliases of tsconfig.base.json
 * resolved, every npm package left external), run by plain `node`, no tsx.
 *
 *   npx tsx tools/build/build-apps.ts [gateway ingest m1 m2 m3]   (default: all of them)
 *
 * Files the sources load by path at run time come along: `__dirname` in a workspace source file
 * is rewritten to that file's folder as mirrored under `dist/apps/<name>/`, and what it loads is
 * put there (the public .proto files for the gateway, the bundled stage thread for the workers).
 * A new `__dirname` use the build does not know fails the build. Every package a bundle imports
 * must be in package.json `dependencies` (or `optionalDependencies`), so that
 * `npm ci --omit=dev` installs what the services need.
 */
import { builtinModules } from 'node:module';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Metafile, Plugin } from 'esbuild';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');

interface AppBuild {
  /** The app's entry, relative to the workspace root. */
  readonly entry: string;
  /** More entries bundled beside it (worker threads started from a file), mirrored under dist/apps/<name>/. */
  readonly threads: readonly string[];
  /** Folders copied as they are (files loaded by path), mirrored under dist/apps/<name>/. */
  readonly assets: readonly string[];
}

/** Stage workers start their stages in worker threads from libs/service-kit/src/stage-thread.js. */
const STAGE_THREAD = 'libs/service-kit/src/stage-thread.ts';
const worker = (name: string): AppBuild => ({ entry: `apps/${name}/src/main.ts`, threads: [STAGE_THREAD], assets: [] });

export const APPS: Readonly<Record<string, AppBuild>> = {
  cli: { entry: 'apps/cli/src/main.ts', threads: [], assets: [] },
  gateway: { entry: 'apps/gateway/src/main.ts', threads: [], assets: ['proto'] },
  ingest: worker('ingest'),
  m1: worker('m1'),
  m2: worker('m2'),
  m3: worker('m3'),
};

/**
 * The workspace files that read `__dirname`, and what they load from there: the build knows
 * these; any other fails it, so that a new file loaded by path cannot go missing from dist.
 */
const DIRNAME_USERS: Readonly<Record<string, string>> = {
  'apps/cli/src/commands/validate.ts': 'nothing: it walks up to the workspace root to find ../shared',
  'apps/gateway/src/grpc/protos.ts': 'the public .proto files of proto/ (an asset of the gateway)',
  'libs/service-kit/src/stage-runner.ts': 'stage-thread.js beside it (the bundled stage thread)',
};

const toPosix = (file: string): string => file.split(path.sep).join('/');

/** `__dirname` in workspace sources becomes the source folder's mirror under the bundle's folder. */
const sourceDirname: Plugin = {
  name: 'source-dirname',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!/\b__dirname\b/.test(text)) return undefined;
      const relative = toPosix(path.relative(ROOT, args.path));
      if (DIRNAME_USERS[relative] === undefined) {
        return { errors: [{ text: `${relative} reads __dirname: add what it loads at run time to tools/build/build-apps.ts (DIRNAME_USERS, and the app's assets or threads)` }] };
      }
      const folder = JSON.stringify(toPosix(path.dirname(relative)));
      return { contents: text.replace(/\b__dirname\b/g, `__mitosisSourceDir(${folder})`), loader: 'ts' };
    });
  },
};

const BANNER = ['// Built by tools/build/build-apps.ts: do not edit.', "const __mitosisSourceDir = (folder) => require('node:path').join(__dirname, folder);"].join('\n');

/** The npm package a bare import names: `@scope/name` or `name` (a subpath dropped). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

const BUILTINS = new Set(builtinModules);

/** The packages a bundle imports, each with one workspace file that imports it. */
export function externalPackages(metafile: Metafile): Map<string, string> {
  const found = new Map<string, string>();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || imported.path.startsWith('.') || imported.path.startsWith('/')) continue;
      const name = imported.path.replace(/^node:/, '');
      if (BUILTINS.has(name) || BUILTINS.has(name.split('/')[0] ?? name)) continue;
      const pkg = packageOf(imported.path);
      if (!found.has(pkg)) found.set(pkg, file);
    }
  }
  return found;
}

async function bundle(entry: string, outfile: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    tsconfig: path.join(ROOT, 'tsconfig.base.json'),
    sourcemap: true,
    banner: { js: BANNER },
    plugins: [sourceDirname],
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** Builds one app into dist/apps/<name>; returns the packages its bundles import. */
export async function buildApp(name: string, distRoot = path.join(ROOT, 'dist', 'apps')): Promise<Map<string, string>> {
  const app = APPS[name];
  if (app === undefined) throw new Error(`build: unknown app "${name}" (one of ${Object.keys(APPS).join(', ')})`);
  const out = path.join(distRoot, name);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const packages = externalPackages(await bundle(app.entry, path.join(out, 'main.js')));
  for (const thread of app.threads) {
    const outfile = path.join(out, thread.replace(/\.ts$/, '.js'));
    for (const [pkg, file] of externalPackages(await bundle(thread, outfile))) if (!packages.has(pkg)) packages.set(pkg, file);
  }
  for (const asset of app.assets) {
    await cp(path.join(ROOT, asset), path.join(out, asset), { recursive: true, filter: (source) => !/\.(ts|md)$/.test(source) || source.endsWith('.d.ts') });
  }
  await writeFile(path.join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs', private: true }, null, 2)}\n`);
  return packages;
}

/** The packages imported at run time that package.json does not install with --omit=dev, as messages. */
export async function missingRuntimeDependencies(imported: Map<string, string>): Promise<string[]> {
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const installed = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]);
  return [...imported]
    .filter(([pkg]) => !installed.has(pkg))
    .map(([pkg, file]) => `${pkg} (imported by ${file}) is not in package.json dependencies: a production install (npm ci --omit=dev) would lack it`);
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const apps = names.length > 0 ? names : Object.keys(APPS);
  const problems: string[] = [];
  for (const name of apps) {
    const started = Date.now();
    const imported = await buildApp(name);
    problems.push(...(await missingRuntimeDependencies(imported)).map((p) => `${name}: ${p}`));
    console.log(`built dist/apps/${name}/main.js in ${Date.now() - started} ms; packages it imports: ${[...imported.keys()].sort().join(', ')}`);
  }
  if (problems.length > 0) throw new Error(`build: ${problems.length} run-time import(s) missing from dependencies:\n  ${problems.join('\n  ')}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
