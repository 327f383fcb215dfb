/**
 * Renders docs/errors.md from the error catalogs of every package (the single source of truth).
 */
import { STUN_ERROR_CODES } from '@cloudproxy/stun';
import { TURN_ERROR_CODES } from '@cloudproxy/turn';
import { TURN_CONFIG_ERROR_CODE } from '../../packages/cli/src/config/turn-config-error.js';

interface CatalogEntry {
  readonly code: string;
  readonly description: string;
}

const SECTIONS: readonly { title: string; entries: readonly CatalogEntry[] }[] = [
  { title: '`@cloudproxy/stun`', entries: STUN_ERROR_CODES },
  { title: '`@cloudproxy/turn`', entries: TURN_ERROR_CODES },
  { title: '`cloudproxy` (CLI)', entries: [TURN_CONFIG_ERROR_CODE] },
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
