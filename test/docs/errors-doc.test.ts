import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/turn-server.js';
import { renderErrorsDoc } from './errors-doc.js';

const DOC = path.join(REPO_ROOT, 'docs/errors.md');

describe('docs/errors.md', () => {
  it('lists every error code of the catalogs (regenerate with npm run docs:errors)', () => {
    // `npm run docs:errors` sets UPDATE_DOCS=1 to rewrite the page from the catalogs.
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(DOC, renderErrorsDoc());
    expect(readFileSync(DOC, 'utf8')).toBe(renderErrorsDoc());
  });
});
