/**
 * Shared pieces of the security suite: credentials for a running `cloudproxy start`, a metrics
 * reader, and the peer attacks (CreatePermission, ChannelBind, Send) used by several files.
 * @module
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { StartedSystem } from '../helpers/cloudproxy-start.js';
import { restCredentials, type RestCredentials } from '../helpers/credentials.js';
import { StunAttr } from '../helpers/stun.js';
import {
  TurnAttr,
  TurnMethod,
  codeOf,
  u32Attr,
  xorAddress,
  type Answer,
  type TurnAttacker,
} from './turn-attacker.js';

/** REST credentials signed with the relay's own secret (`dataDir/turn-secret`). */
export function relayCredentials(
  system: StartedSystem,
  name: string,
  ttlS = 3600,
): RestCredentials {
  const secret = readFileSync(path.join(system.dataDir, 'turn-secret'), 'utf8').trim();
  return restCredentials(secret, name, ttlS);
}

/** The relay's own REST secret of a started system. */
export function relaySecret(system: StartedSystem): string {
  return readFileSync(path.join(system.dataDir, 'turn-secret'), 'utf8').trim();
}

/** GETs `url` (HTTPS with `ca` trusted, or plain HTTP) and returns the body. */
export async function fetchText(url: string, ca?: string): Promise<string> {
  if (url.startsWith('http://')) return (await fetch(url)).text();
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
      })
      .on('error', reject);
  });
}

/** Sum of a Prometheus counter's samples whose labels contain every `labels` pair. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** ADDITIONAL-ADDRESS-FAMILY = IPv6: a dual-stack allocation (RFC 8656 §7.2). */
export const DUAL_STACK = {
  type: TurnAttr.AdditionalAddressFamily,
  value: Buffer.from([2, 0, 0, 0]),
};

/** CreatePermission for `address` (the port a browser would send with it, default 9), signed. */
export function createPermission(
  attacker: TurnAttacker,
  address: string,
  port = 9,
): Promise<Answer> {
  return attacker.signed(TurnMethod.CreatePermission, (tid) => [
    { type: TurnAttr.XorPeerAddress, value: xorAddress(address, port, tid) },
  ]);
}

/** ChannelBind of `channel` to `address:port`, signed. */
export function channelBind(
  attacker: TurnAttacker,
  channel: number,
  address: string,
  port: number,
): Promise<Answer> {
  return attacker.signed(TurnMethod.ChannelBind, (tid) => [
    u32Attr(TurnAttr.ChannelNumber, channel << 16),
    { type: TurnAttr.XorPeerAddress, value: xorAddress(address, port, tid) },
  ]);
}

/** A Send indication of `payload` to `address:port` (no answer expected). */
export function sendIndication(
  attacker: TurnAttacker,
  address: string,
  port: number,
  payload: Buffer,
): void {
  const { bytes } = attacker.build(
    TurnMethod.Send,
    (tid) => [
      { type: TurnAttr.XorPeerAddress, value: xorAddress(address, port, tid) },
      { type: TurnAttr.Data, value: payload },
    ],
    false,
  );
  // Indications are class 0x10: rewrite the class bits of the request type.
  bytes.writeUInt16BE(bytes.readUInt16BE(0) | 0x0010, 0);
  attacker.send(bytes);
}

/** Refusal codes of every attack on `address:port`: CreatePermission and ChannelBind. */
export async function attackPeer(
  attacker: TurnAttacker,
  address: string,
  port: number,
  channel: number,
): Promise<{ permission: number | undefined; channel: number | undefined }> {
  const permission = codeOf(await createPermission(attacker, address));
  const bound = codeOf(await channelBind(attacker, channel, address, port));
  return { permission, channel: bound };
}

export { StunAttr };
