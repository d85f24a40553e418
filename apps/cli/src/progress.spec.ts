import { PassThrough } from 'node:stream';
import { createProgressRenderer } from './progress';

describe('createProgressRenderer', () => {
  it('prints one line per tenth of each step when the stream is not a terminal', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const renderer = createProgressRenderer(stream as unknown as NodeJS.WriteStream);
    for (let i = 0; i <= 100; i++) renderer.sink({ step: 'm3.train', done: i, total: 100, detail: `loss ${i}` });
    renderer.stop();
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^m3\.train: 0\/100 loss 0/);
    expect(lines[10]).toMatch(/^m3\.train: 100\/100 loss 100/);
  });

  it('stays silent when asked to', () => {
    const stream = new PassThrough();
    const write = jest.spyOn(stream, 'write');
    const renderer = createProgressRenderer(stream as unknown as NodeJS.WriteStream, true);
    renderer.sink({ step: 'x', done: 1, total: 2 });
    expect(write).not.toHaveBeenCalled();
  });
});
