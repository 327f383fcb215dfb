/**
 * Processes for the benchmarks: spawning with captured output, stopping by PID, killing every
 * child on exit, and the kernel's accounting of a process from /proc (CPU time of all its
 * threads, resident memory, open-file limit).
 * @module
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root (bench/lib/../..). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** Clock ticks per second of /proc's utime and stime (USER_HZ). */
export const CLOCK_TICKS_PER_S = readConf('CLK_TCK', 100);
/** Bytes per page of /proc's rss field. */
export const PAGE_BYTES = readConf('PAGESIZE', 4096);

function readConf(name, fallback) {
  try {
    return Number(execFileSync('getconf', [name]).toString().trim()) || fallback;
  } catch {
    return fallback;
  }
}

/**
 * Parses the text of /proc/PID/stat. The command name (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ')'.
 * @param {string} text
 * @returns {{ pid: number, state: string, ppid: number, utimeTicks: number, stimeTicks: number,
 *   threads: number, rssPages: number }}
 */
export function parseProcStat(text) {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('/proc stat: no ")" after the command name');
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // fields[0] is field 3 (state); field N of proc(5) is fields[N - 3].
  const field = (n) => {
    const value = fields[n - 3];
    if (value === undefined) throw new Error(`/proc stat: field ${n} missing`);
    return value;
  };
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    state: field(3),
    ppid: Number(field(4)),
    utimeTicks: Number(field(14)),
    stimeTicks: Number(field(15)),
    threads: Number(field(20)),
    rssPages: Number(field(24)),
  };
}

/**
 * CPU seconds (utime + stime) and RSS bytes of one process, all its threads counted (the
 * process line of /proc/PID/stat sums its threads; children are not included).
 * Undefined when the process is gone.
 */
export function processUsage(pid) {
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return {
      cpuS: (stat.utimeTicks + stat.stimeTicks) / CLOCK_TICKS_PER_S,
      rssBytes: stat.rssPages * PAGE_BYTES,
      threads: stat.threads,
    };
  } catch {
    return undefined;
  }
}

/**
 * The soft and hard limits of open files from the text of /proc/PID/limits.
 * @param {string} text
 */
export function parseOpenFileLimit(text) {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m) throw new Error('/proc limits: no "Max open files" line');
  const value = (v) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: value(m[1]), hard: value(m[2]) };
}

/** This process's open-file limits. */
export function openFileLimit() {
  return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
}

const children = new Set();
function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/**
 * Spawns `file args` with stdout and stderr captured (the last 200 kB), killed with SIGKILL
 * when this process exits. `onLine` sees every output line as it arrives.
 * @returns {{ child: import('node:child_process').ChildProcess, pid: number,
 *   output: () => string, exited: () => boolean, done: Promise<{code: number|null,
 *   signal: string|null}>, stop: (graceMs?: number) => Promise<void> }}
 */
export function startProcess(file, args, { cwd = REPO_ROOT, env, onLine } = {}) {
  const child = spawn(file, args, {
    cwd,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  let partial = '';
  let exit;
  const onData = (chunk) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-200_000);
    if (!onLine) return;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      exit ??= { code, signal };
      resolve(exit);
    });
    child.once('error', (err) => {
      children.delete(child);
      output += `\nspawn error: ${err.message}`;
      exit ??= { code: null, signal: null };
      resolve(exit);
    });
  });
  return {
    child,
    pid: child.pid,
    output: () => output,
    exited: () => exit !== undefined || child.exitCode !== null || child.signalCode !== null,
    done,
    /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
    stop: async (graceMs = 5000) => {
      if (exit || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

/** The first line a command prints for `args` (a version string), or why it could not run. */
export function firstLineOf(file, args) {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 5000 });
  if (result.error) return `unknown (${result.error.message})`;
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return text.split('\n')[0] ?? '';
}
