/**
 * Renders docs/errors.md from the error catalogs of every package (the single source of truth).
 */
import { STUN_ERROR_CODES } from '@cloudproxy/stun';
import { TURN_ERROR_CODES } from '@cloudproxy/turn';
import { CLIENT_ERROR_CODES } from '@cloudproxy/client';
import { CONTROL_ERROR_CODES, PROBLEM_STATUS } from '@cloudproxy/control';
import { PROXY_ERROR_CODES, PROXY_THROWN_ERROR_CODES } from '@cloudproxy/proxy';
import { API_CONFIG_ERROR_CODE } from '../../packages/cli/src/config/api-options.js';
import { PROXY_CONFIG_ERROR_CODE } from '../../packages/cli/src/config/proxy-config.js';
import { TURN_CONFIG_ERROR_CODE } from '../../packages/cli/src/config/turn-config-error.js';

interface CatalogEntry {
  readonly code: string;
  readonly description: string;
}

const SECTIONS: readonly { title: string; entries: readonly CatalogEntry[] }[] = [
  { title: '`@cloudproxy/stun`', entries: STUN_ERROR_CODES },
  { title: '`@cloudproxy/turn`', entries: TURN_ERROR_CODES },
  { title: '`@cloudproxy/proxy`', entries: PROXY_THROWN_ERROR_CODES },
  {
    title: 'Signaling proxy refusals (HTTP, `{ "error": { "code", "message" } }`)',
    entries: PROXY_ERROR_CODES.map((e) => ({
      code: e.code,
      description: `${e.status}: ${e.description}`,
    })),
  },
  {
    title: '`@cloudproxy/control`',
    entries: Object.entries(CONTROL_ERROR_CODES).map(([code, description]) => ({
      code,
      description,
    })),
  },
  {
    title: 'Control plane API refusals (HTTP, `application/problem+json`, see docs/api.md)',
    entries: Object.entries(PROBLEM_STATUS).map(([code, status]) => ({
      code,
      description: `HTTP ${status}`,
    })),
  },
  { title: '`@cloudproxy/client` (`CloudProxyError.code`)', entries: CLIENT_ERROR_CODES },
  {
    title: '`cloudproxy` (CLI)',
    entries: [
      TURN_CONFIG_ERROR_CODE,
      PROXY_CONFIG_ERROR_CODE,
      {
        code: API_CONFIG_ERROR_CODE,
        description:
          'A `cloudproxy api` option is missing or has a bad value; the message names the flag.',
      },
    ],
  },
];

/** The text of docs/errors.md. */
export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error thrown by cloudproxy code carries a stable `code`; match on it, not on the class',
    'or the message. Protocol rejections are not errors: they are STUN error responses (RFC 8489',
    '§14.8), counted in `cloudproxy_turn_error_responses_total`. This page is generated from the',
    "packages' catalogs (`npm run docs:errors`); a test fails when it is out of date.",
    '',
  ];
  for (const section of SECTIONS) {
    lines.push(`## ${section.title}`, '', '| code | meaning |', '|---|---|');
    for (const entry of section.entries) lines.push(`| \`${entry.code}\` | ${entry.description} |`);
    lines.push('');
  }
  return lines.join('\n');
}
