/**
 * Hardening options of `cloudproxy turn` that coturn does not have: per-allocation and
 * per-source quotas, and the refusal of world-readable config files holding secrets.
 * See docs/security.md for the defaults and why.
 * @module
 */
import { field, flag, int } from './turn-option-spec.js';
import type { FlagOptionSpec, IntOptionSpec } from './turn-option-spec.js';

const COUNT = { valueName: '<n>', min: 0, max: 2_147_483_647 } as const;
const ONLY = 'cloudproxy only';

/** `--source-quota`, `--permission-quota`, `--channel-quota` (group Quotas). */
export const ABUSE_QUOTA_OPTIONS: readonly IntOptionSpec[] = [
  int(
    'source-quota',
    'quotas',
    'Concurrent allocations per client IP address; 0 = unlimited.',
    COUNT,
    field('sourceQuota'),
    { defaultText: '0', coturnNote: ONLY },
  ),
  int(
    'permission-quota',
    'quotas',
    'Permissions (peer addresses) per allocation, then 508; 0 = unlimited.',
    COUNT,
    field('permissionQuota'),
    { defaultText: '500', coturnNote: ONLY },
  ),
  int(
    'channel-quota',
    'quotas',
    'Channel bindings per allocation, then 508; 0 = unlimited.',
    COUNT,
    field('channelQuota'),
    { defaultText: '500', coturnNote: ONLY },
  ),
];

/** `--strict-config-permissions` (group General, command line only). */
export const STRICT_CONFIG_PERMISSIONS: FlagOptionSpec = flag(
  'strict-config-permissions',
  'general',
  'Refuse a config file that others may read and that holds user= or static-auth-secret=.',
  field('strictConfigPermissions'),
  { argvOnly: true, coturnNote: `${ONLY}; without it such a file is read with a warning` },
);
