/**
 * The selected candidate pair of a peer connection, read from `getStats()`.
 * @module
 */
import type { RelayTransport } from './ice-url.js';

/** The local side of the selected pair. */
export interface SelectedPath {
  /** `host`, `srflx`, `prflx` or `relay`. */
  readonly candidateType: string;
  /** For relay candidates: how the client reaches the relay. */
  readonly relayProtocol: RelayTransport | undefined;
}

/** The subset of `RTCPeerConnection` this module reads. */
export interface StatsSource {
  getStats(): Promise<RTCStatsReport>;
}

type StatsRecord = Readonly<Record<string, unknown>>;

function stringField(record: StatsRecord | undefined, key: string): string | undefined {
  const value = record?.[key];
  return typeof value === 'string' ? value : undefined;
}

function selectedPairOf(report: RTCStatsReport): StatsRecord | undefined {
  const all = [...report.values()] as StatsRecord[];
  for (const stats of all) {
    if (stats['type'] !== 'transport') continue;
    const id = stringField(stats, 'selectedCandidatePairId');
    const pair = id === undefined ? undefined : (report.get(id) as StatsRecord | undefined);
    if (pair !== undefined) return pair;
  }
  // Browsers without transport stats: the nominated, succeeded pair (Firefox marks `selected`).
  return all.find(
    (s) =>
      s['type'] === 'candidate-pair' &&
      (s['selected'] === true || (s['nominated'] === true && s['state'] === 'succeeded')),
  );
}

function toRelayTransport(value: string | undefined): RelayTransport | undefined {
  return value === 'udp' || value === 'tcp' || value === 'tls' ? value : undefined;
}

/**
 * Reads the local candidate of the selected pair; undefined when no pair is selected yet.
 * A local candidate of type `relay` means the media goes through the cloud proxy.
 */
export async function readSelectedPath(pc: StatsSource): Promise<SelectedPath | undefined> {
  const report = await pc.getStats();
  const pair = selectedPairOf(report);
  const localId = stringField(pair, 'localCandidateId');
  if (localId === undefined) return undefined;
  const local = report.get(localId) as StatsRecord | undefined;
  const candidateType = stringField(local, 'candidateType');
  if (candidateType === undefined) return undefined;
  return { candidateType, relayProtocol: toRelayTransport(stringField(local, 'relayProtocol')) };
}
