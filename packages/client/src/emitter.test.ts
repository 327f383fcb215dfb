import { describe, expect, it, vi } from 'vitest';
import { Emitter } from './emitter.js';

interface Events {
  ping: number;
  pong: string;
}

describe('Emitter', () => {
  it('calls handlers in order, once per registration, until removed', () => {
    const emitter = new Emitter<Events>();
    const seen: string[] = [];
    const a = (n: number): void => void seen.push(`a${n}`);
    const b = (n: number): void => void seen.push(`b${n}`);
    emitter.on('ping', a);
    emitter.on('ping', a);
    emitter.on('ping', b);
    emitter.emit('ping', 1);
    emitter.off('ping', a);
    emitter.emit('ping', 2);
    emitter.emit('pong', 'nobody listens');
    emitter.clear();
    emitter.emit('ping', 3);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
  });

  it('keeps calling the other handlers when one throws and rethrows from a microtask', async () => {
    const emitter = new Emitter<Events>();
    const boom = new Error('handler bug');
    const after = vi.fn();
    emitter.on('pong', () => {
      throw boom;
    });
    emitter.on('pong', after);
    const rethrown = new Promise<unknown>((resolve) => {
      const saved = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (err) => {
        for (const listener of saved) process.on('uncaughtException', listener);
        resolve(err);
      });
    });
    emitter.emit('pong', 'x');
    expect(after).toHaveBeenCalledWith('x');
    expect(await rethrown).toBe(boom);
  });
});
