import { existsSync } from 'node:fs';
import path from 'node:path';
import { effectiveCmd, effectiveUser, isNonRootUser, missingCopySources, parseDockerfile, stageChain } from './dockerfile';
import { REPO_ROOT } from './repo-facts';
import { readText } from './yaml-files';

const DOCKER = path.join(REPO_ROOT, 'deploy', 'docker');
/** Each service runs its build (the app's Nx `build` target, tools/build/build-apps.ts) with plain node. */
const CMD = (target: string): string[] => ['node', '--enable-source-maps', `dist/apps/${target}/main.js`];
const IMAGES: Record<string, string[]> = { Dockerfile: ['gateway', 'ingest', 'm1', 'm2', 'm3'], 'Dockerfile.gpu': ['m1', 'm2', 'm3'] };

describe('parseDockerfile', () => {
  it('joins continuations, drops comments and splits stages', () => {
    const { args, stages } = parseDockerfile(
      '# syntax=docker/dockerfile:1\nARG B=x\nFROM ${B} AS one\nRUN a \\\n  # note\n  && b\nFROM one AS two\nUSER 1000:1000\nCMD ["node", "x.js"]\n',
      'D',
    );
    expect(args.map((a) => a.args)).toEqual(['B=x']);
    expect(stages.map((s) => [s.name, s.from])).toEqual([
      ['one', '${B}'],
      ['two', 'one'],
    ]);
    expect(stages[0]?.instructions).toEqual([{ keyword: 'RUN', args: 'a && b', line: 4 }]);
    expect(stageChain(stages, 'two').map((s) => s.name)).toEqual(['two', 'one']);
    expect(effectiveUser(stages, 'two')).toBe('1000:1000');
    expect(effectiveUser(stages, 'one')).toBeUndefined();
    expect(effectiveCmd(stages, 'two', 'D')).toEqual(['node', 'x.js']);
  });

  it('refuses a shell-form CMD, instructions before FROM and a dangling continuation', () => {
    expect(() => effectiveCmd(parseDockerfile('FROM a AS b\nCMD node x.js\n', 'D').stages, 'b', 'D')).toThrow(/D:2: CMD is not in exec/);
    expect(() => parseDockerfile('RUN x\nFROM a\n', 'D')).toThrow(/D:1: RUN before the first FROM/);
    expect(() => parseDockerfile('FROM a\nRUN x \\\n', 'D')).toThrow(/continuation/);
    expect(isNonRootUser('root')).toBe(false);
    expect(isNonRootUser('1000:0')).toBe(false);
    expect(isNonRootUser('node')).toBe(true);
  });
});

describe.each(Object.keys(IMAGES))('deploy/docker/%s', (file) => {
  const source = path.join(DOCKER, file);
  const { args, stages } = parseDockerfile(readText(source), source);

  it.each(IMAGES[file] ?? [])('target %s: multi-stage, non-root, the service command', (target) => {
    const chain = stageChain(stages, target);
    expect(chain.length).toBeGreaterThan(0);
    // Built elsewhere, copied in: the target's chain takes node_modules from a build stage.
    const copies = chain.flatMap((s) => s.instructions).filter((i) => i.keyword === 'COPY' && i.args.includes('--from='));
    expect(copies.some((i) => i.args.includes('node_modules'))).toBe(true);
    expect(isNonRootUser(effectiveUser(stages, target))).toBe(true);
    expect(effectiveCmd(stages, target, source)).toEqual(CMD(target));
    // The bundle comes from the build stage, built there by the same script as the app's build target.
    const bundle = chain.flatMap((s) => s.instructions).find((i) => i.keyword === 'COPY' && i.args.includes(`dist/apps/${target}/`));
    expect(bundle?.args).toBe(`--from=build /src/dist/apps/${target}/ dist/apps/${target}/`);
    const build = stageChain(stages, 'build')
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);
    expect(build.some((run) => new RegExp(`^npx tsx tools/build/build-apps\\.ts( \\S+)* ${target}( |$)`).test(run))).toBe(true);
    const project = JSON.parse(readText(path.join(REPO_ROOT, 'apps', target, 'project.json'))) as {
      targets: Record<string, { options?: { command?: string }; outputs?: string[] }>;
    };
    expect(project.targets['build']?.options?.command).toBe(`tsx tools/build/build-apps.ts ${target}`);
    expect(project.targets['build']?.outputs).toEqual([`{workspaceRoot}/dist/apps/${target}`]);
  });

  it('runs no TypeScript in the runtime images: no tsx, no sources, production dependencies only', () => {
    const runtime = stages.filter((s) => s.name !== 'build');
    const words = runtime.flatMap((s) => s.instructions).map((i) => `${i.keyword} ${i.args}`);
    expect(words.filter((w) => /\btsx\b|TSX_TSCONFIG_PATH/.test(w))).toEqual([]);
    expect(words.filter((w) => /^COPY (?!--from=)\S*(libs|apps|proto)\//.test(w))).toEqual([]);
    expect(words.filter((w) => /npm ci/.test(w)).every((w) => w.includes('--omit=dev'))).toBe(true);
  });

  it('copies only paths that exist and pins its base images', () => {
    expect(missingCopySources(stages, REPO_ROOT, source)).toEqual([]);
    for (const arg of args) expect(arg.args).toMatch(/^[A-Z_]+=[^:\s]+:[^\s]+$/);
    for (const arg of args) expect(arg.args).not.toMatch(/:latest$/);
    expect(existsSync(`${source}.dockerignore`)).toBe(true);
  });

  if (file === 'Dockerfile.gpu') {
    it('builds on CUDA and installs tfjs-node-gpu (and not tfjs-node)', () => {
      expect(args.map((a) => a.args)).toContain('CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04');
      const runs = stages
        .flatMap((s) => s.instructions)
        .filter((i) => i.keyword === 'RUN')
        .map((i) => i.args)
        .join('\n');
      expect(runs).toMatch(/npm rebuild @tensorflow\/tfjs-node-gpu/);
      expect(runs).toMatch(/rm -rf node_modules\/@tensorflow\/tfjs-node /);
    });
  }
});
