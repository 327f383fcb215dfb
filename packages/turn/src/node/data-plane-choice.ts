/**
 * Which UDP data plane a TurnServer uses: the `dataPlane` option, else env
 * CLOUDPROXY_DATA_PLANE, else 'auto' (native when the addon loads, else the TypeScript path).
 * See docs/data-plane.md.
 * @module
 */
import { dataPlaneUnavailableReason, loadDataPlane } from '@cloudproxy/dataplane';
import type { DataPlaneAddon } from '@cloudproxy/dataplane';
import type { StunCrypto } from '@cloudproxy/stun';
import { nodeStunCrypto } from '@cloudproxy/stun/node-crypto';
import { InvalidOptionError } from '../errors.js';

/** What an operator asks for. */
export type DataPlaneMode = 'auto' | 'native' | 'js';

/** The data plane chosen: native with its addon, or js with the reason why not native. */
export type DataPlaneChoice =
  | { readonly plane: 'native'; readonly addon: DataPlaneAddon; readonly mode: DataPlaneMode }
  | { readonly plane: 'js'; readonly reason: string; readonly mode: DataPlaneMode };

const MODES: readonly string[] = ['auto', 'native', 'js'];

/**
 * Resolves the mode and loads the addon when needed.
 * @throws InvalidOptionError for an unknown mode, or 'native' when the addon cannot load.
 */
export function chooseDataPlane(
  option: DataPlaneMode | undefined,
  env: NodeJS.ProcessEnv = process.env,
): DataPlaneChoice {
  const fromEnv = env['CLOUDPROXY_DATA_PLANE'];
  const value: string = option ?? (fromEnv === undefined || fromEnv === '' ? 'auto' : fromEnv);
  const key = option === undefined && fromEnv ? 'CLOUDPROXY_DATA_PLANE' : 'dataPlane';
  if (!MODES.includes(value)) {
    throw new InvalidOptionError(key, `must be auto, native or js, got "${value}"`);
  }
  const mode = value as DataPlaneMode;
  if (mode === 'js') return { plane: 'js', reason: `${key} is js`, mode };
  const addon = loadDataPlane();
  if (addon) return { plane: 'native', addon, mode };
  const reason = dataPlaneUnavailableReason() ?? 'native data plane not available';
  if (mode === 'native') {
    throw new InvalidOptionError(
      key,
      `native requested but ${reason} (build it with npm run build)`,
    );
  }
  return { plane: 'js', reason, mode };
}

/**
 * STUN's hash primitives for a choice: with the native plane, its addon computes the HMACs
 * (MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, nonces; about 4× cheaper than node:crypto's
 * `createHmac`); the js plane, and MD5 and SHA-256 always, use node:crypto.
 */
export function stunCryptoFor(choice: DataPlaneChoice): StunCrypto {
  if (choice.plane !== 'native') return nodeStunCrypto;
  const { hmac } = choice.addon;
  return {
    ...nodeStunCrypto,
    hmacSha1: (key, data) => hmac(false, key, data),
    hmacSha256: (key, data) => hmac(true, key, data),
  };
}

/** Most worker threads the native data plane runs (its handles carry 8 bits of worker). */
export const MAX_DATA_PLANE_THREADS = 64;

/**
 * Validates `dataPlaneThreads` (0 = automatic: one per CPU but one, or 1 on up to 2 CPUs).
 * @throws InvalidOptionError when not an integer in 0..64.
 */
export function resolveDataPlaneThreads(value: number | undefined): number {
  const threads = value ?? 0;
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_DATA_PLANE_THREADS) {
    throw new InvalidOptionError(
      'dataPlaneThreads',
      `must be an integer in 0..${MAX_DATA_PLANE_THREADS} (0 = automatic: one per CPU but one, or 1 on up to 2 CPUs), got ${threads}`,
    );
  }
  return threads;
}
