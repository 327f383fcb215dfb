/**
 * The state one signaling proxy shares between its HTTP and WebSocket paths.
 * @module
 */
import type { Agent } from 'undici';
import type { ClientLimiter } from './client-limits.js';
import type { ProxyMetrics } from './metrics.js';
import type { ProxyPathParser } from './proxy-path.js';
import type { ResolvedProxyOptions } from './resolve-options.js';

/**
 * ProxyRuntime is what request handlers need: options, the path parser, the upstream pool, limits,
 * metrics.
 */
export interface ProxyRuntime {
  readonly options: ResolvedProxyOptions;
  /** `parseProxyPath` with this proxy's allowlist, remembering upstream segments. */
  readonly parsePath: ProxyPathParser;
  readonly agent: Agent;
  readonly limiter: ClientLimiter;
  readonly metrics: ProxyMetrics;
}

/** Byte counts of one exchange, for the access log. */
export interface ByteCounter {
  bytesIn: number;
  bytesOut: number;
}
