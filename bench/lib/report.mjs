/**
 * Reporting for the benchmark suite: the machine description, Markdown tables, result files
 * under bench/results/ and the progress line printed while the suite runs.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { fmtDuration, round } from './stats.mjs';
import { firstLineOf } from './proc.mjs';
import { COTURN_BIN, NGINX_BIN } from './servers.mjs';

/** The machine and tool versions a result was measured with. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: os.availableParallelism(),
    memGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    coturn: firstLineOf(COTURN_BIN, ['--version']),
    nginx: firstLineOf(NGINX_BIN, ['-v']).replace('nginx version: ', ''),
    loadavg: os.loadavg().map((x) => round(x, 2)),
  };
}

/** One line describing `machine`, for the top of every report. */
export function machineLine(machine) {
  return (
    `${machine.date}: ${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memGiB} GiB, ` +
    `${machine.kernel}, Node ${machine.node}, coturn ${machine.coturn}, ${machine.nginx}; ` +
    `load average at start ${machine.loadavg.join(' ')}.`
  );
}

/** A Markdown table from a header row and data rows (cells are strings). */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Writes `<out>/<name>.md` and `<name>.json` (`<name>.quick.*` in quick mode) and returns
 * the Markdown path relative to the working directory.
 */
export function writeResult(out, name, quick, markdown, json) {
  mkdirSync(out, { recursive: true });
  const base = path.join(out, quick ? `${name}.quick` : name);
  writeFileSync(`${base}.md`, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  return path.relative(process.cwd(), `${base}.md`);
}

/**
 * The progress line of a suite: every step prints `[done/total section elapsed, ~left] label`
 * before it starts and its outcome after. The estimate uses each section's planned seconds,
 * corrected by how long the finished steps really took.
 */
export class Progress {
  #total = 0;
  #done = 0;
  #plannedS = 0;
  #plannedDoneS = 0;
  #t0 = performance.now();
  #write;

  /** @param {(line: string) => void} write */
  constructor(write = (line) => process.stdout.write(`${line}\n`)) {
    this.#write = write;
  }

  /** Adds `steps` steps of about `secondsEach` seconds to the plan. */
  plan(steps, secondsEach) {
    this.#total += steps;
    this.#plannedS += steps * secondsEach;
  }

  /** Removes `steps` planned steps of `secondsEach` seconds that will not run after all. */
  drop(steps, secondsEach) {
    this.#total -= steps;
    this.#plannedS -= steps * secondsEach;
  }

  /** Seconds since the suite started. */
  elapsedS() {
    return (performance.now() - this.#t0) / 1000;
  }

  /** Estimated seconds left: planned seconds left, scaled by the observed/planned ratio. */
  leftS() {
    const left = this.#plannedS - this.#plannedDoneS;
    const scale = this.#plannedDoneS > 0 ? this.elapsedS() / this.#plannedDoneS : 1;
    return left * Math.min(Math.max(scale, 0.5), 3);
  }

  /** Prints the line of a step about to start. */
  start(section, label) {
    const head = `[${String(this.#done + 1).padStart(3)}/${this.#total} ${section.padEnd(5)} ${fmtDuration(this.elapsedS())} elapsed, ~${fmtDuration(this.leftS())} left]`;
    this.#write(`${head} ${label}`);
  }

  /** Prints a step's outcome and counts it done. */
  finish(secondsPlanned, outcome) {
    this.#done++;
    this.#plannedDoneS += secondsPlanned;
    if (outcome) this.#write(`      → ${outcome}`);
  }

  /** Prints a free-form note. */
  note(text) {
    this.#write(`      ${text}`);
  }
}
