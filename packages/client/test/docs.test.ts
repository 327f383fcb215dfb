import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERROR_CODES, MODE_ALIASES } from '../src/index.js';

const guide = readFileSync(path.join(import.meta.dirname, '../../../docs/client.md'), 'utf8');

describe('docs/client.md', () => {
  it('lists every error code of the catalog in its errors table', () => {
    for (const { code } of CLIENT_ERROR_CODES)
      expect(guide).toMatch(new RegExp(`\\| \`${code}\` +\\|`));
  });

  it('names every numeric mode alias', () => {
    for (const alias of Object.keys(MODE_ALIASES)) expect(guide).toContain(`\`${alias}\``);
  });
});
