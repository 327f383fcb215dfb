import { describe, expect, it } from 'vitest';
import { saslprep } from './saslprep.js';

describe('saslprep (RFC 4013)', () => {
  it.each([
    ['the RFC 5769 §2.4 password', 'The\u00adM\u00aatr\u2168', 'TheMatrIX'],
    ['plain ASCII unchanged', 'VOkJxbRl1RmTxUk/WvJxBt', 'VOkJxbRl1RmTxUk/WvJxBt'],
    ['soft hyphen mapped to nothing', 'I\u00adX', 'IX'],
    ['zero-width joiner and BOM mapped to nothing', 'a\u200db\ufeffc', 'abc'],
    ['variation selectors mapped to nothing', 'a\ufe0fb', 'ab'],
    ['non-ASCII spaces mapped to space', 'a\u00a0b\u3000c\u2003d', 'a b c d'],
    ['NFKC of ligatures and compatibility characters', '\ufb01\u2163', 'fiIV'],
    ['astral characters kept', 'x\u{1f600}', 'x\u{1f600}'],
    ['RFC 4013 §3 example: <U+00AA> is output as "a"', '\u00aa', 'a'],
  ])('%s', (_name, input, output) => {
    expect(saslprep(input)).toBe(output);
  });
});
