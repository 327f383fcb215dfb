import { describe, expect, it } from 'vitest';
import { readSelectedPath } from './selected-pair.js';

function source(entries: [string, Record<string, unknown>][]): {
  getStats(): Promise<RTCStatsReport>;
} {
  return { getStats: () => Promise.resolve(new Map(entries) as unknown as RTCStatsReport) };
}

describe('readSelectedPath', () => {
  it('follows the transport selectedCandidatePairId', async () => {
    const pc = source([
      ['T', { type: 'transport', selectedCandidatePairId: 'P2' }],
      [
        'P1',
        { type: 'candidate-pair', localCandidateId: 'L1', nominated: true, state: 'succeeded' },
      ],
      ['P2', { type: 'candidate-pair', localCandidateId: 'L2' }],
      ['L1', { type: 'local-candidate', candidateType: 'host' }],
      ['L2', { type: 'local-candidate', candidateType: 'relay', relayProtocol: 'tls' }],
    ]);
    expect(await readSelectedPath(pc)).toEqual({ candidateType: 'relay', relayProtocol: 'tls' });
  });

  it('falls back to the nominated succeeded pair, or a pair marked selected', async () => {
    const nominated = source([
      ['P', { type: 'candidate-pair', localCandidateId: 'L', nominated: true, state: 'succeeded' }],
      ['L', { type: 'local-candidate', candidateType: 'srflx' }],
    ]);
    expect(await readSelectedPath(nominated)).toEqual({
      candidateType: 'srflx',
      relayProtocol: undefined,
    });
    const selected = source([
      ['P', { type: 'candidate-pair', localCandidateId: 'L', selected: true }],
      ['L', { type: 'local-candidate', candidateType: 'relay', relayProtocol: 'udp' }],
    ]);
    expect(await readSelectedPath(selected)).toEqual({
      candidateType: 'relay',
      relayProtocol: 'udp',
    });
  });

  it('is undefined while no pair is selected or the candidate is missing', async () => {
    expect(await readSelectedPath(source([]))).toBeUndefined();
    const dangling = source([
      ['T', { type: 'transport', selectedCandidatePairId: 'P' }],
      ['P', { type: 'candidate-pair', localCandidateId: 'gone' }],
    ]);
    expect(await readSelectedPath(dangling)).toBeUndefined();
  });
});
