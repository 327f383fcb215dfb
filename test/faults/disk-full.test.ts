/**
 * Fault: the disk of the SQLite store fills up. `cloudproxy start` runs with `--data-dir` on a
 * 4 MiB tmpfs (mounted by the test, as root; unmounted in `afterAll`), which the test then fills
 * with a ballast file.
 *
 * Kept while the disk is full: the process; relaying on the existing allocation (ChannelData
 * echoes, Refresh); reads (`/readyz` answers 200: the store answers, only writes fail).
 * Refused, with 503 `unavailable` naming the cause (`disk full (SQLITE_FULL)` or the I/O error
 * SQLite reports): API writes and the usage flush. After the ballast is removed, writes succeed
 * again without a restart. Nothing lost or corrupted: the usage relayed while the disk was full
 * is written afterwards (stored bytes equal the relay's counters), the refused write left no
 * row, and `PRAGMA integrity_check` answers `ok` after a clean stop.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type StartedSystem } from '../helpers/cloudproxy-start.js';
import {
  createTestApp,
  issueUdpCredentials,
  openRelayedCall,
  type RelayedCall,
} from './fault-helpers.js';

const TMPFS_SIZE = '4m';

let mountDir: string | undefined;
let mounted = false;
let system: StartedSystem | undefined;
let call: RelayedCall | undefined;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error('the disk-full test mounts a tmpfs and must run as root');
  mountDir = mkdtempSync(path.join(tmpdir(), 'cloudproxy-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', mountDir]);
  mounted = true;
  system = await startSystem({ dataDir: path.join(mountDir, 'data') });
});

afterAll(async () => {
  await call?.close();
  await system?.stop();
  if (mounted) execFileSync('umount', ['-l', mountDir!]);
  if (mountDir) rmSync(mountDir, { recursive: true, force: true });
});

/** Writes zeros into `file` until the filesystem refuses (ENOSPC); returns the bytes written. */
function fill(file: string): number {
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  for (let i = 0; i < 4096; i++) {
    try {
      writeFileSync(file, chunk, { flag: 'a' });
      written += chunk.length;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
      throw error;
    }
  }
  // Top up byte by byte in smaller pieces so that not even one page is left.
  for (const size of [4096, 512, 1]) {
    for (let i = 0; i < 64; i++) {
      try {
        writeFileSync(file, Buffer.alloc(size), { flag: 'a' });
        written += size;
      } catch {
        break;
      }
    }
  }
  return written;
}

interface UsageRow {
  channel: string;
  bytesIn: { udp: number };
}

describe('SQLite store on a full disk', () => {
  it('keeps relaying, refuses writes with 503, recovers when space is freed, corrupts nothing', async () => {
    const s = system!;
    const admin = s.adminToken;
    const app = await createTestApp(s, 'diskfull');
    const credentials = await issueUdpCredentials(s, app.appId, admin, {
      channel: 'room',
      uid: 'alice',
    });
    call = await openRelayedCall(credentials);
    expect(await call.echo(20)).toEqual({ sent: 20, returned: 20 });
    const ballast = path.join(mountDir!, 'ballast');
    expect(fill(ballast)).toBeGreaterThan(0);

    // Writes are refused with a retryable 503 that names the cause.
    const write = await s.api('POST', '/api/v1/apps', { token: admin, body: { name: 'refused' } });
    expect(write.status, `${write.text}\n${s.output().slice(-3000)}`).toBe(503);
    expect(write.json).toMatchObject({ code: 'unavailable' });
    expect((write.json as { detail: string }).detail).toMatch(
      /^the store is unavailable: (disk full|disk I\/O error) \(SQLITE_/,
    );
    // Relaying goes on, including traffic whose usage cannot be written yet.
    for (let i = 0; i < 5; i++) expect(await call.echo(20)).toEqual({ sent: 20, returned: 20 });
    expect(await call.client.refresh()).toBe(600);
    const usageDuring = await s.api('GET', `/api/v1/apps/${app.appId}/usage`, { token: admin });
    expect(usageDuring.status, usageDuring.text).toBe(503);
    // Reads still work, so the node stays ready.
    expect((await s.api('GET', '/readyz')).status).toBe(200);

    rmSync(ballast);
    const after = await s.api('POST', '/api/v1/apps', { token: admin, body: { name: 'after' } });
    expect(after.status, after.text).toBe(201);
    const usage = await s.api('GET', `/api/v1/apps/${app.appId}/usage`, { token: admin });
    expect(usage.status, usage.text).toBe(200);
    const live = await s.api('GET', `/api/v1/allocations?appId=${app.appId}`, { token: admin });
    const liveIn = (live.json as { allocations: { bytesIn: number }[] }).allocations.reduce(
      (n, a) => n + a.bytesIn,
      0,
    );
    const storedIn = (usage.json as { usage: UsageRow[] }).usage
      .filter((r) => r.channel === 'room')
      .reduce((n, r) => n + r.bytesIn.udp, 0);
    expect(liveIn).toBeGreaterThanOrEqual(120 * 100);
    expect(storedIn).toBe(liveIn);

    // A clean stop (the allocation deleted first, so the drain ends at once), then the file is
    // consistent and holds exactly the acknowledged writes.
    expect(await call.client.refresh(0)).toBe(0);
    await call.close();
    call = undefined;
    const code = await s.stop();
    expect(code, s.output().slice(-4000)).toBe(0);
    const db = new Database(path.join(s.dataDir, 'cloudproxy.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const names = (db.prepare('select name from apps order by name').all() as { name: string }[])
        .map((r) => r.name)
        .filter((n) => n !== 'demo');
      expect(names).toEqual(['after', 'diskfull']);
    } finally {
      db.close();
    }
  });
});
