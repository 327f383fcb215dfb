/**
 * Running coturn's client tools from tests: bounded in time, output captured, children killed
 * when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for assertions and error messages. */
  output: string;
  durationMs: number;
}

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Runs `file args…`, killing it (SIGKILL) after `timeoutMs`. Never rejects for a non-zero exit. */
export function runProcess(file: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    let stdout = '';
    let stderr = '';
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({
        command: [file, ...args].join(' '),
        code,
        signal,
        timedOut,
        stdout,
        stderr,
        output,
        durationMs: Date.now() - started,
      });
    });
  });
}

export interface BackgroundProcess {
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a long-running helper (e.g. `turnutils_peer`); `stop()` sends SIGTERM, SIGKILL after 5 s. */
export function startBackground(file: string, args: string[]): BackgroundProcess {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('close', () => {
      exited = true;
      liveChildren.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      append(Buffer.from(`spawn error: ${err.message}\n`));
      exited = true;
      liveChildren.delete(child);
      resolve();
    });
  });
  return {
    pid: child.pid ?? -1,
    output: () => output,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
