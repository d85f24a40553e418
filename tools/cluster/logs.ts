/** The log side of the supervisor: follows each child's log file and parses its JSON lines. */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** One line of a process's log: the services write JSON lines; anything else is `{ msg: line }`. */
export type LogLine = Readonly<Record<string, unknown>>;

/** How often a followed log file is read. */
export const POLL_MS = 100;

/**
 * Follows a log file the child writes directly (its stdout and stderr are the file, so the logs
 * survive the supervisor): reads what was appended, every 100 ms, into parsed lines.
 */
export class LogTail {
  readonly lines: LogLine[] = [];
  private handle: FileHandle | undefined;
  private offset = 0;
  private pending = '';
  private reading: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly file: string) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** Reads whatever was appended since the last read; concurrent calls share one read. */
  poll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    this.handle ??= await open(this.file, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      this.pending += buffer.toString('utf8', 0, bytesRead);
    }
    const parts = this.pending.split('\n');
    this.pending = parts.pop() ?? '';
    if (parts.length === 0) return;
    for (const part of parts) {
      if (part.trim() === '') continue;
      this.lines.push(parseLine(part));
    }
    // Long runs: keep the latest lines only (the file has them all).
    if (this.lines.length > 50_000) this.lines.splice(0, this.lines.length - 40_000);
    for (const wake of this.waiters) wake();
  }

  onLines(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.poll().catch(() => undefined);
    this.closed = true;
    if (this.pending.trim() !== '') this.lines.push(parseLine(this.pending));
    this.pending = '';
    await this.handle?.close();
    this.handle = undefined;
  }

  tail(count = 30): string {
    return this.lines
      .slice(-count)
      .map((line) => (Object.keys(line).length === 1 && typeof line['msg'] === 'string' ? line['msg'] : JSON.stringify(line)))
      .join('\n');
  }
}

export function parseLine(text: string): LogLine {
  if (text.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as LogLine;
    } catch {
      // not JSON after all: kept as text
    }
  }
  return { msg: text };
}
