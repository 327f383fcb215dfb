/**
 * The `cloudproxy turn --help` text, generated from the options table.
 * @module
 */
import { TURN_OPTION_GROUPS } from './turn-option-spec.js';
import type { TurnOptionGroup, TurnOptionSpec } from './turn-option-spec.js';
import { TURN_OPTIONS } from './turn-options-table.js';

const INDENT = '  ';
const GAP = '  ';
const MAX_LABEL_WIDTH = 40;
/** Lines are wrapped to this many columns. */
const LINE_WIDTH = 100;

const HEADER = `Usage: cloudproxy turn [options]

Runs the TURN/STUN server alone, configured like coturn: the same option names on the command
line (--name value, --name=value, -x value) and in a turnserver.conf read with -c (one
"name=value" per line, a bare "name" for a flag, # comments). The command line overrides the
file; repeatable options add up. Unlike coturn, special-purpose peer addresses (private, loopback,
link-local, metadata...) are always denied, and there is no open relay without --no-auth.
`;

const FOOTER = `
Any other coturn option (--userdb, --mobility, --cli-password, --aux-server...) is refused by name
rather than ignored. Reference: docs/cli-turn.md.
`;

/** Renders the `cloudproxy turn --help` text: usage, then the options grouped as in the table. */
export function turnHelpText(): string {
  const labels = new Map(TURN_OPTIONS.map((spec) => [spec, optionLabel(spec)]));
  const width = Math.min(MAX_LABEL_WIDTH, Math.max(...[...labels.values()].map((l) => l.length)));
  const sections = (Object.keys(TURN_OPTION_GROUPS) as TurnOptionGroup[]).map((group) => {
    const lines = TURN_OPTIONS.filter((spec) => spec.group === group).map((spec) =>
      formatLine(labels.get(spec) ?? spec.name, describe(spec), width),
    );
    return `${TURN_OPTION_GROUPS[group]}:\n${lines.join('\n')}\n`;
  });
  return `${HEADER}\n${sections.join('\n')}${FOOTER}`;
}

/** `-p, --listening-port <port>`, `    --no-udp`, `    --stale-nonce[=<seconds>]`. */
export function optionLabel(spec: TurnOptionSpec): string {
  const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
  return `${short}--${spec.name}${valueSuffix(spec)}`;
}

function valueSuffix(spec: TurnOptionSpec): string {
  switch (spec.kind) {
    case 'flag':
      return '';
    case 'int':
      return spec.bareValue === undefined ? ` ${spec.valueName}` : `[=${spec.valueName}]`;
    case 'string':
    case 'repeatable':
      return ` ${spec.valueName}`;
  }
}

function describe(spec: TurnOptionSpec): string {
  return spec.defaultText === undefined
    ? spec.description
    : `${spec.description} (default: ${spec.defaultText})`;
}

/**
 * One option: label, then the description wrapped in its column. A label wider than the column
 * puts the description on the next line.
 */
function formatLine(label: string, description: string, width: number): string {
  const column = INDENT.length + width + GAP.length;
  const head = `${INDENT}${label}`;
  const body = wrap(description, LINE_WIDTH - column).join(`\n${' '.repeat(column)}`);
  if (label.length > width) {
    return `${head}\n${' '.repeat(column)}${body}`;
  }
  return `${head.padEnd(column)}${body}`;
}

/** Splits text into lines of at most `width` characters at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}
