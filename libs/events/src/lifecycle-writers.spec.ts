import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * "Nobody but the lifecycle writes a job's state": every production source file of the
 * repository is searched for writes of the job record's lifecycle fields and for job store or KV
 * writes. Only lifecycle.ts may write them (and job-store.ts the KV entries it is made of).
 */

const REPO = path.resolve(__dirname, '../../..');
const LIFECYCLE = 'libs/events/src/lifecycle.ts';
const JOB_STORE = 'libs/events/src/job-store.ts';

interface Rule {
  readonly what: string;
  readonly pattern: RegExp;
  /** The one file allowed to do it. */
  readonly owner: string;
}

const RULES: readonly Rule[] = [
  { what: 'assigns a lifecycle field', pattern: /\.(state|attempts|startedAt|endedAt|error|outputs)\s*(=(?!=)|\?\?=|\|\|=)/, owner: LIFECYCLE },
  { what: 'replaces a stage record', pattern: /\.stages\s*(\[[^\]]*\]|\.\w+)\s*=(?!=)/, owner: LIFECYCLE },
  { what: 'merges into outputs', pattern: /Object\.assign\(\s*[\w.?]*outputs\b/, owner: LIFECYCLE },
  { what: 'deletes a lifecycle field', pattern: /delete\s+[\w.?[\]'"-]+\.(state|error|endedAt|startedAt)\b/, owner: LIFECYCLE },
  { what: 'builds a record with a job state', pattern: /\bstate:\s*'(QUEUED|RUNNING|SUCCEEDED|FAILED|CANCELLED)'/, owner: LIFECYCLE },
  { what: 'writes to the job store', pattern: /\bjobs\??\.(create|update)\s*\(/, owner: LIFECYCLE },
  { what: 'writes a KV entry', pattern: /\bkv\??\.(put|create|update|delete|purge)\s*\(/, owner: JOB_STORE },
];

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
/** Tests, test support and generated code are not production writers. */
const SKIPPED_FILE = /(\.spec\.[cm]?[jt]s|\.testing\.ts|\.d\.ts|jest\.config\.js)$/;
const SKIPPED_DIR = new Set(['node_modules', 'dist', 'coverage', '.nx', '.git', 'testing', 'gen', 'tmp']);
const ROOTS = ['apps', 'libs', 'tools', 'deploy'];

export function findJobStateWriters(root: string): string[] {
  const found: string[] = [];
  const visit = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a root this checkout does not have
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIR.has(entry.name)) visit(full);
        continue;
      }
      if (!entry.isFile() || !SOURCE.test(entry.name) || SKIPPED_FILE.test(entry.name)) continue;
      const file = path.relative(root, full).split(path.sep).join('/');
      readFileSync(full, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          const code = line.replace(/\/\/.*$/, '');
          for (const rule of RULES) {
            if (file !== rule.owner && rule.pattern.test(code)) found.push(`${file}:${index + 1} ${rule.what} (only ${rule.owner} may): ${line.trim()}`);
          }
        });
    }
  };
  for (const top of ROOTS) visit(path.join(root, top));
  return found;
}

describe('the job lifecycle is the only writer of job state', () => {
  it('no production file outside lifecycle.ts writes a job record', () => {
    expect(findJobStateWriters(REPO)).toEqual([]);
  });

  it('names the file and line of each writer it finds', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'lifecycle-writers-'));
    try {
      mkdirSync(path.join(root, 'apps/gateway/src'), { recursive: true });
      mkdirSync(path.join(root, 'libs/events/src'), { recursive: true });
      const writer = [
        'export async function cancel(ctx, id) {',
        '  return ctx.jobs.update(id, (job) => {',
        "    job.state = 'CANCELLED';",
        "    job.stages['m1'] = { state: 'CANCELLED', done: 0, total: 0, attempts: 1 };",
        '    delete job.error;',
        '  });',
        '}',
      ].join('\n');
      writeFileSync(path.join(root, 'apps/gateway/src/cancel.ts'), writer);
      // The same code is fine in the lifecycle itself, in a spec and in a comment.
      writeFileSync(path.join(root, LIFECYCLE), writer);
      writeFileSync(path.join(root, 'apps/gateway/src/cancel.spec.ts'), writer);
      writeFileSync(path.join(root, 'libs/events/src/notes.ts'), "// job.state = 'FAILED' is what failStage does\n");
      const found = findJobStateWriters(root);
      expect(found.map((f) => f.split(' (')[0])).toEqual([
        'apps/gateway/src/cancel.ts:2 writes to the job store',
        'apps/gateway/src/cancel.ts:3 assigns a lifecycle field',
        'apps/gateway/src/cancel.ts:4 replaces a stage record',
        'apps/gateway/src/cancel.ts:4 builds a record with a job state',
        'apps/gateway/src/cancel.ts:5 deletes a lifecycle field',
      ]);
      expect(found[0]).toContain(`only ${LIFECYCLE} may`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
