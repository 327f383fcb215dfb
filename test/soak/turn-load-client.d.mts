/**
 * Types of turn-load-client.mjs: a UDP TURN client (one allocation per instance) built on
 * @cloudproxy/stun with long-term credentials, and a UDP echo peer.
 */
import type { TransportAddress } from '@cloudproxy/stun';

/** A TURN request that failed: `code` is the STUN error code, or 0 for a timeout. */
export declare class TurnRequestError extends Error {
  readonly code: number;
}

/** Where the client sends and with which credentials. */
export interface TurnLoadClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
}

/** One allocation over its own UDP socket. */
export declare class TurnLoadClient {
  constructor(options: TurnLoadClientOptions);
  /** Handler of received ChannelData payloads. */
  onData: ((channel: number, data: Uint8Array) => void) | undefined;
  /** The relayed address after allocate(). */
  readonly relayed: TransportAddress | undefined;
  readonly localPort: number;
  bind(host?: string): Promise<void>;
  setCredentials(username: string, password: string): void;
  allocate(lifetimeS?: number): Promise<number | undefined>;
  refresh(lifetimeS?: number): Promise<number | undefined>;
  createPermission(peer: { address: string; port: number }): Promise<void>;
  channelBind(channel: number, peer: { address: string; port: number }): Promise<void>;
  sendChannelData(channel: number, data: Uint8Array): void;
  close(): void;
}

/** A UDP echo peer. */
export interface EchoPeer {
  readonly address: string;
  readonly port: number;
  echoed(): number;
  close(): Promise<void>;
}

export declare function startEchoPeer(host?: string): Promise<EchoPeer>;
