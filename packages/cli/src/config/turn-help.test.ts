import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COTURN_LONG_OPTIONS } from './coturn-options.js';
import { parseTurnConfigFile } from './turn-args.js';
import { optionLabel, turnHelpText } from './turn-help.js';
import { TURN_OPTION_GROUPS } from './turn-option-spec.js';
import { TURN_OPTIONS, findTurnOption } from './turn-options-table.js';

const DOCS = readFileSync(new URL('../../../../docs/cli-turn.md', import.meta.url), 'utf8');
/** The cells of every markdown table row: option, value, default, description, coturn. */
const rows = DOCS.split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );

describe('turnHelpText', () => {
  const help = turnHelpText();

  it('lists every option of the table with its alias and value', () => {
    for (const spec of TURN_OPTIONS) {
      expect(help).toContain(optionLabel(spec).trim());
    }
  });

  it('shows the groups in table order', () => {
    const positions = Object.values(TURN_OPTION_GROUPS).map((title) =>
      help.indexOf(`\n${title}:\n`),
    );
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('puts every option under its own group', () => {
    const sections = help.split('\n\n');
    for (const spec of TURN_OPTIONS) {
      const section = sections.find((text) =>
        text.startsWith(`${TURN_OPTION_GROUPS[spec.group]}:\n`),
      );
      expect(section, spec.name).toContain(optionLabel(spec).trim());
    }
  });

  it('shows defaults', () => {
    expect(help).toMatch(/--listening-port <port> +UDP and TCP port\. \(default: 3478\)/);
    expect(help).toMatch(/--stale-nonce\[=<seconds>\] +Nonce lifetime/);
  });

  it('fits in 100 columns', () => {
    for (const line of help.split('\n')) {
      expect(line.length, line).toBeLessThanOrEqual(100);
    }
  });

  const labels: { name: string; label: string }[] = [
    { name: 'listening-port', label: '-p, --listening-port <port>' },
    { name: 'no-udp', label: '    --no-udp' },
    { name: 'stale-nonce', label: '    --stale-nonce[=<seconds>]' },
    { name: 'user', label: '-u, --user <name:password>' },
    { name: 'realm', label: '-r, --realm <realm>' },
  ];
  for (const c of labels) {
    it(`labels --${c.name} as "${c.label}"`, () => {
      expect(optionLabel(findTurnOption(c.name)!)).toBe(c.label);
    });
  }
});

describe('docs/cli-turn.md', () => {
  it('documents every supported option (so the docs cannot drift from the table)', () => {
    for (const spec of TURN_OPTIONS) {
      expect(DOCS, spec.name).toContain(`\`--${spec.name}\``);
      if (spec.short !== undefined)
        expect(DOCS, spec.name).toContain(`\`-${spec.short}\`, \`--${spec.name}\``);
      const row = rows.find((cells) => cells[0]?.endsWith(`\`--${spec.name}\``));
      expect(row, spec.name).toBeDefined();
      if (spec.defaultText !== undefined && spec.name !== 'listening-ip') {
        expect(row?.[2], spec.name).toBe(spec.defaultText);
      }
    }
  });

  it('lists every coturn option that is refused', () => {
    for (const name of COTURN_LONG_OPTIONS.filter((n) => findTurnOption(n) === undefined)) {
      expect(DOCS, name).toContain(`\`--${name}\``);
    }
  });

  it('has an example turnserver.conf that loads and uses every file option', () => {
    const example = /```ini\n([\s\S]*?)```/.exec(DOCS)?.[1];
    expect(example).toBeDefined();
    const parsed = parseTurnConfigFile(example ?? '', 'turnserver.conf', 0o600);
    expect(parsed.server.realm).toBe('turn.example.org');
    const alsoAccepted = /Also accepted in a file: (.*?)\.\n\n/s.exec(DOCS)?.[1] ?? '';
    for (const spec of TURN_OPTIONS.filter((s) => s.argvOnly !== true)) {
      const inExample = new RegExp(`^${spec.name}(=|$)`, 'm').test(example ?? '');
      expect(inExample || alsoAccepted.includes(`\`${spec.name}\``), spec.name).toBe(true);
    }
  });
});
