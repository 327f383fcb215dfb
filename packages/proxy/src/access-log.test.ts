import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatAccessLine, logAccess } from './access-log.js';
import type { AccessRecord } from './access-log.js';
import type { AccessLogEntry, ProxyLogger } from './options.js';
import { resolveProxyOptions } from './resolve-options.js';
import type { ProxyRuntime } from './runtime.js';

const RECORD: AccessRecord = {
  method: 'POST',
  upstream: 'api.example.com',
  path: '/v1/rooms?token=secret',
  status: 201,
  bytesIn: 10,
  bytesOut: 20,
  client: '192.0.2.7',
};

/** A runtime with only what logAccess reads. */
function runtimeWith(logger: ProxyLogger): ProxyRuntime {
  const options = resolveProxyOptions({ allowHosts: [], logger, registry: new Registry() });
  return { options } as unknown as ProxyRuntime;
}

/** The fields of a WebSocket access line, in the order pino writes them (and the fast line too). */
const WEBSOCKET_FIELDS = [
  'event',
  'method',
  'upstream',
  'path',
  'status',
  'bytesIn',
  'bytesOut',
  'client',
  'durationMs',
  'websocket',
];

describe('logAccess', () => {
  it('hands the entry to the access fast path when the logger has one', () => {
    const entries: AccessLogEntry[] = [];
    const infos: unknown[] = [];
    const logger: ProxyLogger = {
      debug: () => undefined,
      info: (fields) => infos.push(fields),
      warn: () => undefined,
      error: () => undefined,
      access: (entry) => entries.push(entry),
    };
    logAccess(runtimeWith(logger), RECORD, performance.now() - 2.6);
    expect(infos).toEqual([]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ ...RECORD, path: '/v1/rooms' });
    expect(Number.isInteger(entries[0]?.durationMs)).toBe(true);
  });

  it('logs the same fields with info otherwise, event first', () => {
    const infos: { fields: Record<string, unknown>; message: string }[] = [];
    const logger: ProxyLogger = {
      debug: () => undefined,
      info: (fields, message) => infos.push({ fields, message }),
      warn: () => undefined,
      error: () => undefined,
    };
    logAccess(runtimeWith(logger), { ...RECORD, websocket: true }, performance.now());
    expect(infos[0]?.message).toBe('websocket closed');
    expect(Object.keys(infos[0]?.fields ?? {})).toEqual(WEBSOCKET_FIELDS);
  });
});

describe('formatAccessLine', () => {
  it('writes the fields in a fixed order as one JSON line, escaping strings', () => {
    const entry: AccessLogEntry = {
      ...RECORD,
      path: '/a"b\\c\u0001é',
      durationMs: 3,
      websocket: true,
      closeCodes: { client: 1000, upstream: 1001 },
    };
    const line = formatAccessLine(entry, '{"level":"info",');
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['level', ...WEBSOCKET_FIELDS, 'closeCodes', 'msg']);
    expect(parsed).toMatchObject({
      event: 'proxy.access',
      path: entry.path,
      msg: 'websocket closed',
    });
  });
});
