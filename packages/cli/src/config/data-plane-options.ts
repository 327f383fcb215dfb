/**
 * The options of `cloudproxy turn` that choose the UDP data plane (docs/data-plane.md):
 * `--data-plane auto|native|js` and `--data-plane-threads N`. cloudproxy only.
 * @module
 */
import { field, int, str } from './turn-option-spec.js';
import type { TurnOptionSpec } from './turn-option-spec.js';
import { TurnConfigError } from './turn-config-error.js';

/** Most worker threads of the native data plane (as `dataPlaneThreads` accepts). */
const MAX_THREADS = 64;

/** Parses `--data-plane`: auto, native or js. */
export function parseDataPlaneValue(at: string, text: string): 'auto' | 'native' | 'js' {
  if (text === 'auto' || text === 'native' || text === 'js') return text;
  throw new TurnConfigError(`${at}: expected auto, native or js, got '${text}'`);
}

/** The data plane options, in `--help` order (group Relay). */
export const DATA_PLANE_OPTIONS: readonly TurnOptionSpec[] = [
  str(
    'data-plane',
    'relay',
    [
      '<mode>',
      'Relay data plane (UDP, TCP, TLS clients): native (C addon, a thread per CPU), js, or auto.',
    ],
    (d, v, at) => {
      d.dataPlane = parseDataPlaneValue(at, v);
    },
    {
      defaultText: 'auto',
      coturnNote: 'cloudproxy only; env CLOUDPROXY_DATA_PLANE sets the default',
    },
  ),
  int(
    'data-plane-threads',
    'relay',
    'Worker threads of the native data plane; 0 = one per CPU but one (1 on up to 2 CPUs).',
    { valueName: '<n>', min: 0, max: MAX_THREADS },
    field('dataPlaneThreads'),
    { defaultText: '0', coturnNote: 'cloudproxy only' },
  ),
];
