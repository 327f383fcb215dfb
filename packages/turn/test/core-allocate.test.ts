import {
  AddressFamily,
  AttrType,
  MessageClass,
  Method,
  additionalAddressFamily,
  attr,
  dontFragment,
  evenPort,
  lifetime,
  nonce,
  passwordAlgorithm,
  passwordAlgorithms,
  realm,
  requestedAddressFamily,
  requestedTransport,
  reservationToken,
  unknownAttributes,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  longTermKey,
  PasswordAlgorithmId,
  xorMappedAddress,
  xorRelayedAddress,
  newTransactionId,
  decodeMessage,
} from '@cloudproxy/stun';
import type { AttributeEntry } from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { describe, expect, it } from 'vitest';
import { restPassword } from '../src/auth.js';
import { ScenarioClient, SECRET, errorCodeOf, makeCore } from './scenario.js';

const unknownAttr = (type: number): AttributeEntry => ({ type, encode: () => new Uint8Array(4) });

describe('Binding', () => {
  it('answers with the client reflexive address, without authentication', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const response = client.request(Method.Binding, []);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(response.get(xorMappedAddress)).toEqual(client.ref.remote);
    expect(core.stats.bindingRequests).toBe(1);
  });

  it('rejects an unknown comprehension-required attribute with 420 listing it', () => {
    const { core } = makeCore();
    const response = new ScenarioClient(core).request(Method.Binding, [unknownAttr(0x7ff0)]);
    expect(errorCodeOf(response)).toBe(420);
    expect(response.get(unknownAttributes)).toEqual([0x7ff0]);
  });
});

describe('Allocate authentication (RFC 8489 §9.2.4)', () => {
  it('challenges an unauthenticated Allocate with 401, REALM, a cookie NONCE and PASSWORD-ALGORITHMS', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.sendRaw(client.build(Method.Allocate, [attr(requestedTransport, 17)]));
    const response = client.received.messages.at(-1)!;
    const msg = decodeMessage(response);
    expect(errorCodeOf(msg)).toBe(401);
    expect(msg.get(realm)).toBe('example.org');
    expect(msg.get(nonce)).toMatch(/^obMatJos2wAAA/);
    expect(msg.get(passwordAlgorithms)?.map((a) => a.algorithm)).toEqual([2, 1]);
  });

  it('allocates with long-term credentials: relayed, mapped address, default lifetime, signed response', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const response = client.allocate();
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(response.get(xorRelayedAddress)).toEqual({
      family: 4,
      address: '44.0.0.10',
      port: 50000,
    });
    expect(response.get(xorMappedAddress)).toEqual(client.ref.remote);
    expect(response.get(lifetime)).toBe(600);
    const key = longTermKey(
      'alice',
      'example.org',
      'wonderland',
      PasswordAlgorithmId.Md5,
      nodeStunCrypto,
    );
    expect(verifyMessageIntegrity(response, key, nodeStunCrypto)).toBe(true);
    expect(core.allocationCount).toBe(1);
    expect(core.stats.allocationsActive[0]).toBe(1);
  });

  it('signs the response with MESSAGE-INTEGRITY-SHA256 when the request used it', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const response = client.request(Method.Allocate, [attr(requestedTransport, 17)], {
      sha256: true,
    });
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    const key = longTermKey(
      'alice',
      'example.org',
      'wonderland',
      PasswordAlgorithmId.Md5,
      nodeStunCrypto,
    );
    expect(response.has(AttrType.MessageIntegritySha256)).toBe(true);
    expect(verifyMessageIntegritySha256(response, key, nodeStunCrypto)).toBe(true);
  });

  it('refuses a wrong password (401) and counts an auth failure', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core, { password: 'nope' });
    expect(errorCodeOf(client.allocate())).toBe(401);
    expect(core.stats.authFailures).toBe(1);
    expect(core.allocationCount).toBe(0);
  });

  it('refuses an unknown user (401)', () => {
    const { core } = makeCore();
    expect(
      errorCodeOf(new ScenarioClient(core, { username: 'mallory', password: 'x' }).allocate()),
    ).toBe(401);
  });

  it('answers 438 with a fresh nonce once the nonce lifetime has passed', () => {
    const { core, clock } = makeCore({ nonceLifetimeS: 600 });
    const client = new ScenarioClient(core);
    client.allocate();
    const old = client.nonce;
    clock.advance(600_000);
    client.sendRaw(client.build(Method.Refresh, []));
    const msg = decodeMessage(client.received.messages.at(-1)!);
    expect(errorCodeOf(msg)).toBe(438);
    expect(msg.get(nonce)).not.toBe(old);
  });

  it('rejects a nonce issued to another client address (438)', () => {
    const { core } = makeCore();
    const a = new ScenarioClient(core);
    a.allocate();
    const b = new ScenarioClient(core, { address: '198.51.100.99' });
    b.realm = a.realm;
    b.nonce = a.nonce;
    b.sendRaw(b.build(Method.Allocate, [attr(requestedTransport, 17)]));
    expect(errorCodeOf(decodeMessage(b.received.messages.at(-1)!))).toBe(438);
  });

  it('accepts TURN REST credentials from any active secret and refuses expired ones', () => {
    const { core, clock } = makeCore({ auth: { staticAuthSecrets: ['newer', SECRET] } });
    const expiry = Math.floor(clock.nowMs() / 1000) + 3600;
    const name = `${expiry}:carol`;
    const ok = new ScenarioClient(core, {
      username: name,
      password: restPassword(SECRET, name, nodeStunCrypto),
    });
    expect(ok.allocate().messageClass).toBe(MessageClass.SuccessResponse);
    const oldName = `${Math.floor(clock.nowMs() / 1000) - 1}:carol`;
    const expired = new ScenarioClient(core, {
      username: oldName,
      password: restPassword(SECRET, oldName, nodeStunCrypto),
    });
    expect(errorCodeOf(expired.allocate())).toBe(401);
  });

  it('rate-limits 401 answers per source address', () => {
    const { core } = makeCore({ authRejectRatePerS: 5 });
    const client = new ScenarioClient(core);
    for (let i = 0; i < 8; i++)
      client.sendRaw(
        client.build(Method.Allocate, [attr(requestedTransport, 17)], { signed: false }),
      );
    expect(client.received.messages).toHaveLength(5);
    expect(core.stats.ignored.get('rate-limited')).toBe(3);
  });
});

describe('Allocate checks (RFC 8656 §7.2)', () => {
  it('resends the original success for a retransmitted Allocate (same transaction)', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.request(Method.Binding, []);
    client.allocate(); // learns the nonce
    const c2 = new ScenarioClient(core);
    c2.realm = client.realm;
    c2.nonce = client.nonce;
    const id = newTransactionId();
    const first = c2.allocate([], { transactionId: id });
    const again = c2.allocate([], { transactionId: id });
    expect(again.raw).toEqual(first.raw);
  });

  it('releases an expired, not yet swept allocation before allocating anew on its 5-tuple', () => {
    const { core, clock } = makeCore({ userQuota: 1 });
    const client = new ScenarioClient(core);
    client.allocate();
    clock.advance(600_000);
    const again = client.allocate();
    expect(again.messageClass).toBe(MessageClass.SuccessResponse);
    expect(client.lastActions.some((a) => a.type === 'close-relay')).toBe(true);
    expect(core.allocationCount).toBe(1);
    expect(core.stats.allocationsActive[0]).toBe(1);
  });

  it('answers 437 to a second Allocate on the same 5-tuple', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.allocate();
    expect(errorCodeOf(client.allocate())).toBe(437);
  });

  it.each([
    ['missing REQUESTED-TRANSPORT', [] as AttributeEntry[], 400],
    ['TCP relay requested', [attr(requestedTransport, 6)], 442],
  ])('rejects %s', (_name, attributes, code) => {
    const { core } = makeCore();
    const response = new ScenarioClient(core).request(Method.Allocate, attributes);
    expect(errorCodeOf(response)).toBe(code);
  });

  it('treats DONT-FRAGMENT as unknown (420) since DF cannot be set', () => {
    const { core } = makeCore();
    const response = new ScenarioClient(core).allocate([attr(dontFragment, true)]);
    expect(errorCodeOf(response)).toBe(420);
    expect(response.get(unknownAttributes)).toEqual([AttrType.DontFragment]);
  });

  it.each([
    ['an unknown family', [attr(requestedAddressFamily, 3)], 440],
    [
      'both family attributes',
      [attr(requestedAddressFamily, 1), attr(additionalAddressFamily, 2)],
      400,
    ],
    ['ADDITIONAL-ADDRESS-FAMILY IPv4', [attr(additionalAddressFamily, 1)], 400],
    [
      'RESERVATION-TOKEN with EVEN-PORT',
      [attr(reservationToken, new Uint8Array(8)), attr(evenPort, false)],
      400,
    ],
    ['an unknown RESERVATION-TOKEN', [attr(reservationToken, new Uint8Array(8))], 508],
    [
      'EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY',
      [attr(evenPort, true), attr(additionalAddressFamily, 2)],
      400,
    ],
  ])('rejects %s', (_name, attributes, code) => {
    const { core } = makeCore();
    expect(errorCodeOf(new ScenarioClient(core).allocate(attributes))).toBe(code);
  });

  it('allocates IPv4 and IPv6 relays for ADDITIONAL-ADDRESS-FAMILY (dual allocation)', () => {
    const { core } = makeCore();
    const response = new ScenarioClient(core).allocate([
      attr(additionalAddressFamily, AddressFamily.IPv6),
    ]);
    expect(response.getAll(xorRelayedAddress).map((a) => a.family)).toEqual([4, 6]);
  });

  it('reserves port+1 for EVEN-PORT R=1 and hands it to the Allocate with the token', () => {
    const { core } = makeCore();
    const first = new ScenarioClient(core);
    first.relayPort = 50010;
    const response = first.allocate([attr(evenPort, true)]);
    expect(response.get(xorRelayedAddress)?.port).toBe(50010);
    const token = response.get(reservationToken);
    expect(token).toHaveLength(8);
    const second = new ScenarioClient(core);
    second.autoBind = false; // the reserved socket is used: no new bind
    const claimed = second.allocate([attr(reservationToken, token!)]);
    expect(claimed.get(xorRelayedAddress)?.port).toBe(50011);
    expect(errorCodeOf(new ScenarioClient(core).allocate([attr(reservationToken, token!)]))).toBe(
      508,
    );
  });

  it('enforces the per-user quota with 486', () => {
    const { core } = makeCore({ userQuota: 2 });
    expect(new ScenarioClient(core).allocate().messageClass).toBe(MessageClass.SuccessResponse);
    expect(new ScenarioClient(core).allocate().messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCodeOf(new ScenarioClient(core).allocate())).toBe(486);
    expect(
      new ScenarioClient(core, { username: 'bob', password: 'builder' }).allocate().messageClass,
    ).toBe(MessageClass.SuccessResponse);
  });

  it('enforces the total quota with 486', () => {
    const { core } = makeCore({ totalQuota: 1 });
    new ScenarioClient(core).allocate();
    expect(
      errorCodeOf(new ScenarioClient(core, { username: 'bob', password: 'builder' }).allocate()),
    ).toBe(486);
  });

  it('answers 508 when the driver cannot bind a relay port, and 440 for an unserved family', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.autoBind = false;
    client.prime();
    client.sendRaw(client.build(Method.Allocate, [attr(requestedTransport, 17)]));
    const open = client.lastActions.find((a) => a.type === 'open-relay');
    expect(open).toBeDefined();
    if (open?.type !== 'open-relay') return;
    client.execute(
      core.handleRelayBound({
        requestId: open.request.requestId,
        relays: [],
        unsupportedFamilies: [],
        insufficientCapacity: true,
      }),
    );
    expect(errorCodeOf(decodeMessage(client.received.messages.at(-1)!))).toBe(508);
    const v6 = new ScenarioClient(core);
    v6.autoBind = false;
    v6.prime();
    v6.sendRaw(
      v6.build(Method.Allocate, [attr(requestedTransport, 17), attr(requestedAddressFamily, 2)]),
    );
    const open6 = v6.lastActions.find((a) => a.type === 'open-relay');
    if (open6?.type !== 'open-relay') throw new Error('no open-relay');
    v6.execute(
      core.handleRelayBound({
        requestId: open6.request.requestId,
        relays: [],
        unsupportedFamilies: [6],
      }),
    );
    expect(errorCodeOf(decodeMessage(v6.received.messages.at(-1)!))).toBe(440);
  });

  it('refuses new allocations with 508 while draining', () => {
    const { core } = makeCore();
    core.setDraining(true);
    expect(errorCodeOf(new ScenarioClient(core).allocate())).toBe(508);
  });
});

describe('401 rate limiting by transport', () => {
  it('always answers TCP clients, which never retransmit', () => {
    const { core } = makeCore({ authRejectRatePerS: 2 });
    const client = new ScenarioClient(core, { transport: 'tcp' });
    for (let i = 0; i < 5; i++) {
      client.sendRaw(
        client.build(Method.Allocate, [attr(requestedTransport, 17)], { signed: false }),
      );
    }
    expect(client.received.messages).toHaveLength(5);
  });
});

describe('order of the authentication checks (RFC 8489 §9.2.4)', () => {
  it('answers a wrong password with 401 even when the nonce is stale too', () => {
    const { core, clock } = makeCore();
    const client = new ScenarioClient(core);
    client.allocate();
    clock.advance(600_000);
    client.password = 'wrong';
    client.sendRaw(client.build(Method.Refresh, []));
    expect(errorCodeOf(decodeMessage(client.received.messages.at(-1)!))).toBe(401);
  });
});

describe('RFC 8489 §9.2 security features on the server side', () => {
  const offered = [
    { algorithm: PasswordAlgorithmId.Sha256, parameters: new Uint8Array(0) },
    { algorithm: PasswordAlgorithmId.Md5, parameters: new Uint8Array(0) },
  ];

  it('authenticates with PASSWORD-ALGORITHM SHA-256 and MESSAGE-INTEGRITY-SHA256', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const response = client.allocate([], {
      algorithm: PasswordAlgorithmId.Sha256,
      algorithms: offered,
      sha256: true,
    });
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    const key = longTermKey(
      'alice',
      'example.org',
      'wonderland',
      PasswordAlgorithmId.Sha256,
      nodeStunCrypto,
    );
    expect(key).toHaveLength(32);
    expect(verifyMessageIntegritySha256(response, key, nodeStunCrypto)).toBe(true);
  });

  it('refuses a request that chose SHA-256 but was signed with the MD5 key (401)', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.prime();
    const chosen = { algorithm: PasswordAlgorithmId.Sha256, parameters: new Uint8Array(0) };
    const request = client.build(Method.Allocate, [
      attr(requestedTransport, 17),
      attr(passwordAlgorithms, offered),
      attr(passwordAlgorithm, chosen),
    ]);
    client.sendRaw(request);
    expect(errorCodeOf(decodeMessage(client.received.messages.at(-1)!))).toBe(401);
  });

  it.each([
    ['PASSWORD-ALGORITHMS that differ from the offer', [offered[1]!], PasswordAlgorithmId.Md5],
    ['a PASSWORD-ALGORITHM that was not offered', offered, 0x7],
  ])('answers 400 for %s', (_name, algorithms, algorithm) => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.prime();
    const chosen = { algorithm, parameters: new Uint8Array(0) };
    client.sendRaw(
      client.build(Method.Allocate, [
        attr(requestedTransport, 17),
        attr(passwordAlgorithms, algorithms),
        attr(passwordAlgorithm, chosen),
      ]),
    );
    expect(errorCodeOf(decodeMessage(client.received.messages.at(-1)!))).toBe(400);
  });

  it('answers 400 when only one of PASSWORD-ALGORITHMS / PASSWORD-ALGORITHM is present', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const response = client.allocate([attr(passwordAlgorithms, offered)]);
    expect(errorCodeOf(response)).toBe(400);
  });

  it('accepts USERHASH instead of USERNAME for a static user (username anonymity)', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    const response = client.allocate([], { userhash: true });
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
  });

  it('refuses a USERHASH that matches no user (401)', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core, { username: 'nobody', password: 'x' });
    expect(errorCodeOf(client.allocate([], { userhash: true }))).toBe(401);
  });

  it('refuses another realm (401)', () => {
    const { core } = makeCore();
    const client = new ScenarioClient(core);
    client.prime();
    client.realm = 'other.org';
    client.sendRaw(client.build(Method.Allocate, [attr(requestedTransport, 17)]));
    expect(errorCodeOf(decodeMessage(client.received.messages.at(-1)!))).toBe(401);
  });
});
