/**
 * A real PostgreSQL server for tests: `initdb` into a temp dir (owned by the `postgres` user
 * when the tests run as root, since the server refuses to run as root), `pg_ctl start` on a free
 * loopback port with its unix sockets in the temp dir, `createdb`. `stop()` stops it and removes
 * the directory; an exit hook does the same if a test run dies first. Missing server binaries
 * are a failure with instructions, never a skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** A running PostgreSQL server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/<db>` of the database created at start. */
  readonly url: string;
  readonly port: number;
  /** Creates another empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`) and keeps its data, for outage tests. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** The directory of initdb/pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string {
  const fromEnv = process.env['PG_BIN'];
  if (fromEnv !== undefined && existsSync(path.join(fromEnv, 'pg_ctl'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined)
    throw new Error(
      'PostgreSQL server binaries not found (looked for $PG_BIN/pg_ctl and /usr/lib/postgresql/*/bin/pg_ctl). ' +
        'The storage tests need a real server: install the postgresql package (e.g. `apt-get install postgresql`) or set PG_BIN.',
    );
  return path.join(root, newest, 'bin');
}

const asRoot = process.getuid?.() === 0;

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** Runs a PostgreSQL tool, as the postgres user when we are root. */
async function pgTool(
  bin: string,
  tool: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<string> {
  const file = path.join(bin, tool);
  const [cmd, cmdArgs] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', file, ...args]]
    : [file, args];
  try {
    const { stdout, stderr } = await run(cmd, cmdArgs, { timeout: timeoutMs });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${tool} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
      { cause: error },
    );
  }
}

/** Starts a throwaway PostgreSQL server with one database. */
export async function startPostgres(database = 'cloudproxy_test'): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-pg-'));
  if (asRoot) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const user = asRoot ? 'postgres' : userInfo().username;
  const stopSync = (): void => {
    try {
      const args = ['-D', data, '-m', 'immediate', 'stop', '-w'];
      if (asRoot)
        execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), ...args], {
          stdio: 'ignore',
        });
      else execFileSync(path.join(bin, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // Not running (never started, or already stopped): nothing to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  try {
    await pgTool(bin, 'initdb', [
      '-D',
      data,
      '-U',
      user,
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    const port = await freePort();
    const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await pgTool(bin, 'pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'server.log'),
      '-o',
      serverOptions,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    const base = `postgres://${user}@127.0.0.1:${port}`;
    const createDatabase = async (name: string): Promise<string> => {
      await pgTool(bin, 'createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', user, name]);
      return `${base}/${name}`;
    };
    const url = await createDatabase(database);
    let stopped = false;
    return {
      url,
      port,
      createDatabase,
      pause: async () => {
        await pgTool(bin, 'pg_ctl', ['-D', data, '-m', 'fast', 'stop', '-w', '-t', '30']);
      },
      resume: async () => {
        await pgTool(bin, 'pg_ctl', [
          ...['-D', data, '-l', path.join(dir, 'server.log'), '-o', serverOptions],
          ...['-w', '-t', '60', 'start'],
        ]);
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', stopSync);
        await pgTool(bin, 'pg_ctl', ['-D', data, '-m', 'fast', 'stop', '-w', '-t', '30']).catch(
          () => undefined,
        );
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw error;
  }
}
