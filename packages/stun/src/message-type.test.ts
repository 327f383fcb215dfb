import { describe, expect, it } from 'vitest';
import { MessageClass, Method } from './constants.js';
import { StunEncodeError } from './errors.js';
import { decodeMessageType, encodeMessageType } from './message-type.js';

/** Wire message types from RFC 8489 §5/§6 and RFC 8656 §17 (method + class interleaved). */
const KNOWN: readonly (readonly [number, MessageClass, number])[] = [
  [Method.Binding, MessageClass.Request, 0x0001],
  [Method.Binding, MessageClass.Indication, 0x0011],
  [Method.Binding, MessageClass.SuccessResponse, 0x0101],
  [Method.Binding, MessageClass.ErrorResponse, 0x0111],
  [Method.Allocate, MessageClass.Request, 0x0003],
  [Method.Allocate, MessageClass.SuccessResponse, 0x0103],
  [Method.Allocate, MessageClass.ErrorResponse, 0x0113],
  [Method.Refresh, MessageClass.Request, 0x0004],
  [Method.Refresh, MessageClass.SuccessResponse, 0x0104],
  [Method.Send, MessageClass.Indication, 0x0016],
  [Method.Data, MessageClass.Indication, 0x0017],
  [Method.CreatePermission, MessageClass.Request, 0x0008],
  [Method.CreatePermission, MessageClass.ErrorResponse, 0x0118],
  [Method.ChannelBind, MessageClass.Request, 0x0009],
  [Method.ChannelBind, MessageClass.SuccessResponse, 0x0109],
  [Method.Connect, MessageClass.Request, 0x000a],
  [Method.ConnectionBind, MessageClass.Request, 0x000b],
  [Method.ConnectionAttempt, MessageClass.Indication, 0x001c],
  [0x010, MessageClass.Request, 0x0020],
  [0x080, MessageClass.Request, 0x0200],
  [0xfff, MessageClass.Request, 0x3eef],
  [0xfff, MessageClass.ErrorResponse, 0x3fff],
];

describe('message type interleaving (RFC 8489 §5)', () => {
  it.each(KNOWN)('method 0x%s class %i is type 0x%s', (method, messageClass, type) => {
    expect(encodeMessageType(method, messageClass)).toBe(type);
    expect(decodeMessageType(type)).toEqual({ method, messageClass });
  });

  it('round-trips every one of the 4096 methods in each of the 4 classes', () => {
    const seen = new Set<number>();
    for (let method = 0; method <= 0xfff; method++) {
      for (const messageClass of Object.values(MessageClass)) {
        const type = encodeMessageType(method, messageClass);
        expect(type & 0xc000).toBe(0);
        seen.add(type);
        const decoded = decodeMessageType(type);
        expect(decoded.method).toBe(method);
        expect(decoded.messageClass).toBe(messageClass);
      }
    }
    expect(seen.size).toBe(4096 * 4);
  });

  it.each([-1, 0x1000, 1.5])('rejects method %d', (method) => {
    expect(() => encodeMessageType(method, MessageClass.Request)).toThrow(StunEncodeError);
  });

  it('rejects an unknown class', () => {
    expect(() => encodeMessageType(1, 4 as MessageClass)).toThrow('unknown message class 4');
  });
});
