/**
 * docs/cli-proxy.md lists every refusal code with its status, and every preset host.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS, PROXY_ERROR_CODES } from '../src/index.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../../docs/cli-proxy.md'), 'utf8');

describe('docs/cli-proxy.md', () => {
  for (const entry of PROXY_ERROR_CODES) {
    it(`documents ${entry.code} (${entry.status})`, () => {
      expect(doc).toMatch(new RegExp(`\\| \`${entry.code}\`\\s*\\| ${entry.status}\\s*\\|`));
    });
  }
  it('documents every preset host', () => {
    for (const [name, hosts] of Object.entries(PRESETS)) {
      expect(doc).toContain(`\`${name}\``);
      for (const host of hosts) expect(doc).toContain(`\`${host}\``);
    }
  });
});
