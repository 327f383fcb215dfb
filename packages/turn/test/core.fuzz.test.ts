/**
 * Property tests (fast-check) of the TURN core before and after authentication: arbitrary and
 * mutated packets from any client never make `handleClientPacket` throw, and every answer is
 * a well-formed STUN message sent back to the client that asked.
 * FUZZ_RUNS sets the runs per property (default 300; `npm run fuzz` runs many more).
 * @module
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Method, decodeMessage, rawAttr } from '@cloudproxy/stun';
import { ScenarioClient, makeCore } from './scenario.js';

const NUM_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const params = { numRuns: NUM_RUNS };

const METHODS = [
  Method.Binding,
  Method.Allocate,
  Method.Refresh,
  Method.CreatePermission,
  Method.ChannelBind,
];
const attribute = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(0x000c, 0x000d, 0x0012, 0x0013, 0x0019, 0x8000, 0x0017),
      fc.nat(0xffff),
    ),
    fc.uint8Array({ maxLength: 24 }),
  )
  .map(([type, value]) => rawAttr(type, value));

describe('fuzz: the TURN core on hostile input', () => {
  it('arbitrary bytes, before and after an allocation, never throw', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 8 }),
        fc.boolean(),
        (packets, allocate) => {
          const { core } = makeCore();
          const client = new ScenarioClient(core);
          if (allocate) client.allocate();
          for (const packet of packets) {
            const actions = core.handleClientPacket(client.ref, packet);
            for (const a of actions)
              if (a.type === 'send-client') expect(() => decodeMessage(a.data)).not.toThrow();
          }
        },
      ),
      params,
    );
  });

  it('signed requests with random attributes never throw and get decodable answers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...METHODS), fc.array(attribute, { maxLength: 5 })), {
          maxLength: 6,
        }),
        (requests) => {
          const { core } = makeCore();
          const client = new ScenarioClient(core);
          client.allocate();
          for (const [method, attributes] of requests) {
            // A random FINGERPRINT or integrity attribute may make the request one to drop
            // silently (RFC 8489 §6.3); any answer must decode.
            const actions = core.handleClientPacket(client.ref, client.build(method, attributes));
            for (const a of actions)
              if (a.type === 'send-client') expect(() => decodeMessage(a.data)).not.toThrow();
          }
        },
      ),
      params,
    );
  });
});
