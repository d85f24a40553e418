import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cetresFixture, SHARED_DATA_ENV, sharedData, sharedPath, sharedRoot, workspaceRoot } from './shared-data';

describe('the shipped CeTReS.B fixture', () => {
  it('holds the four cut frames, all 90 annotations, the licence and the source', () => {
    expect(readdirSync(cetresFixture.frames()).sort()).toEqual(['t098.png', 't099.png', 't100.png', 't101.png']);
    const rows = readFileSync(cetresFixture.mitoses(), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('frame,x,y');
    expect(rows).toHaveLength(91);
    const dir = path.dirname(cetresFixture.mitoses());
    expect(readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(/cells2numbers\/mitosis_detection/);
    const bytes = readdirSync(cetresFixture.frames()).reduce((sum, f) => sum + statSync(path.join(cetresFixture.frames(), f)).size, 0);
    expect(bytes).toBeLessThan(1.5e6);
  });
});

describe('the shared data folder', () => {
  const saved = process.env[SHARED_DATA_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[SHARED_DATA_ENV];
    else process.env[SHARED_DATA_ENV] = saved;
  });

  it('defaults to ../shared beside the checkout', () => {
    delete process.env[SHARED_DATA_ENV];
    expect(sharedRoot()).toBe(path.join(workspaceRoot(), '..', 'shared'));
    expect(sharedPath('data', 'x')).toBe(path.join(workspaceRoot(), '..', 'shared', 'data', 'x'));
  });

  it('follows $MITOSIS_SHARED_DATA, and says what is missing and where to put it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shared-data-'));
    try {
      process.env[SHARED_DATA_ENV] = dir;
      expect(sharedData()).toEqual({ available: true, path: dir });
      const missing = sharedData('data', 'cetres-b', 'frames');
      expect(missing.available).toBe(false);
      expect(missing).toMatchObject({ path: path.join(dir, 'data', 'cetres-b', 'frames') });
      expect(missing.available ? '' : missing.reason).toBe(`${path.join(dir, 'data', 'cetres-b', 'frames')} is missing: the shared data lives in $${SHARED_DATA_ENV}`);
      delete process.env[SHARED_DATA_ENV];
      const beside = sharedData('no-such-part');
      expect(beside.available ? '' : beside.reason).toMatch(/no-such-part is missing: the shared data lives in \.\.\/shared beside the checkout \(or set \$MITOSIS_SHARED_DATA\)$/);
      expect(existsSync(beside.path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
