import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { APPS, buildApp, missingRuntimeDependencies } from './build-apps';

/** The production build: bundles run by plain node, what they load by path beside them, runtime packages in dependencies. */
describe('build-apps', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), 'build-apps-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bundles the gateway with the public .proto files it loads by path, and a worker with its stage thread', async () => {
    const gateway = await buildApp('gateway', out);
    expect(existsSync(path.join(out, 'gateway', 'main.js'))).toBe(true);
    expect(existsSync(path.join(out, 'gateway', 'proto', 'mitosis', 'v1', 'job.proto'))).toBe(true);
    const bundle = readFileSync(path.join(out, 'gateway', 'main.js'), 'utf8');
    // Workspace code is inside, packages are not.
    expect(bundle).not.toMatch(/require\("@mitosis\//);
    expect(bundle).toContain('require("@grpc/grpc-js")');
    expect(gateway.has('@grpc/grpc-js')).toBe(true);
    expect(await missingRuntimeDependencies(gateway)).toEqual([]);

    const m1 = await buildApp('m1', out);
    expect(existsSync(path.join(out, 'm1', 'libs', 'service-kit', 'src', 'stage-thread.js'))).toBe(true);
    // zarrita is ESM only: it stays a real import(), which Node 20 loads from CommonJS.
    expect(readFileSync(path.join(out, 'm1', 'main.js'), 'utf8')).toContain('import("zarrita")');
    expect(m1.get('zarrita')).toBe('libs/tensor-store/src/zarrita.ts');
    expect(await missingRuntimeDependencies(m1)).toEqual([]);
  }, 60_000);

  it('bundles the CLI, which then runs with plain node', async () => {
    const cli = await buildApp('cli', out);
    expect(await missingRuntimeDependencies(cli)).toEqual([]);
    const { execFileSync } = await import('node:child_process');
    const help = execFileSync(process.execPath, [path.join(out, 'cli', 'main.js'), '--help'], {
      encoding: 'utf8',
      // The bundle lies outside the workspace here: its packages come from the workspace's node_modules.
      env: { ...process.env, NODE_PATH: path.resolve(__dirname, '..', '..', 'node_modules') },
    });
    expect(help).toMatch(/Usage: mitosis/);
    expect(help).toMatch(/analyze/);
  }, 60_000);

  it('names a package imported at run time that dependencies lack', async () => {
    expect(
      await missingRuntimeDependencies(
        new Map([
          ['left-pad', 'libs/core/src/x.ts'],
          ['nats', 'libs/events/src/y.ts'],
        ]),
      ),
    ).toEqual(['left-pad (imported by libs/core/src/x.ts) is not in package.json dependencies: a production install (npm ci --omit=dev) would lack it']);
  });

  it('refuses an unknown app by name', async () => {
    await expect(buildApp('no-such-app', out)).rejects.toThrow(`build: unknown app "no-such-app" (one of ${Object.keys(APPS).join(', ')})`);
  });
});
