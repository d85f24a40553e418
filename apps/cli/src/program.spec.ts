import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { exitCodes } from '@mitosis/core';
import { runCli } from './program';

const bin = path.join(__dirname, '..', '..', '..', 'bin', 'mitosis.js');

describe('mitosis command line', () => {
  it('answers an unknown command with the usage exit code', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(['no-such-command'])).toBe(exitCodes.USAGE);
    } finally {
      stderr.mockRestore();
    }
  });

  it('runs as a real process through the package bin', () => {
    const result = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: mitosis');
  });
});
