/** Finding nats-server, and installing Debian's package when asked (as tools/setup.sh does). */
import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import path from 'node:path';
import { PreconditionError } from '@mitosis/core';

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
export function findNatsServer(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nats-server');
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The nats-server binary; with `install`, Debian's package is installed first when missing (as tools/setup.sh does). */
export function ensureNatsServer(options: { install?: boolean; log?: (line: string) => void } = {}): string {
  const found = findNatsServer();
  if (found !== undefined) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (options.install && root && findOnPath('apt-get')) {
    options.log?.('nats-server is missing: installing the Debian package (apt-get install nats-server)');
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    } catch {
      // a stale index may still hold the package
    }
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    const installed = findNatsServer();
    if (installed !== undefined) return installed;
  }
  throw new PreconditionError(
    options.install && !root
      ? 'nats-server is not installed and only root may install it: sudo apt-get install nats-server'
      : 'nats-server is not installed: apt-get install nats-server (or run `up`, which installs it as root)',
  );
}

function findOnPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, command)));
}
