import { EventEmitter } from 'node:events';
import { installShutdown } from './shutdown';

class FakeProcess extends EventEmitter {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('installShutdown', () => {
  it('on SIGTERM runs the stop functions once, in order, awaiting each, then exits 0', async () => {
    const proc = new FakeProcess();
    const order: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    installShutdown(
      [
        async () => {
          order.push('consumer:start');
          await slow;
          order.push('consumer:end');
        },
        () => order.push('server'),
      ],
      { process: proc },
    );
    proc.emit('SIGTERM');
    await tick();
    expect(order).toEqual(['consumer:start']);
    proc.emit('SIGINT'); // a second signal during the drain changes nothing
    proc.emit('SIGTERM');
    release();
    await tick();
    await tick();
    expect(order).toEqual(['consumer:start', 'consumer:end', 'server']);
    expect(proc.exits).toEqual([0]);
    // Still listening: Node's default handler (immediate exit) never comes back.
    expect(proc.listenerCount('SIGTERM')).toBe(1);
  });

  it('goes on after a failing stop function and logs it', async () => {
    const proc = new FakeProcess();
    const log = { info: jest.fn(), error: jest.fn() };
    const ran: string[] = [];
    installShutdown(
      [
        () => {
          throw new Error('drain failed');
        },
        () => ran.push('second'),
      ],
      { process: proc, log },
    );
    proc.emit('SIGINT');
    await tick();
    await tick();
    expect(ran).toEqual(['second']);
    expect(log.error).toHaveBeenCalledWith('stop step failed', expect.objectContaining({ step: 0 }));
    expect(proc.exits).toEqual([0]);
  });

  it('run() stops without exiting, and dispose() removes the handlers', async () => {
    const proc = new FakeProcess();
    const stop = jest.fn();
    const shutdown = installShutdown([stop], { process: proc });
    await shutdown.run('test');
    await shutdown.run('again');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(proc.exits).toEqual([]);
    shutdown.dispose();
    expect(proc.listenerCount('SIGTERM') + proc.listenerCount('SIGINT')).toBe(0);
  });
});
