/**
 * `cloudproxy node status|drain|resume`: operates one running node through its own admin
 * endpoint (`/api/v1/node`, admin token). `drain` stops new allocations on the node (they are
 * redirected with ALTERNATE-SERVER in cluster mode, else refused), then reports the live
 * allocations every second until none is left or the drain timeout ends the rest.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { Command } from 'commander';

/** Options of the node subcommands. */
interface NodeFlags {
  readonly url: string;
  readonly adminToken?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly ca?: string | undefined;
  readonly timeout?: string | undefined;
  readonly wait?: boolean | undefined;
}

interface NodeStatus {
  readonly nodeId: string;
  readonly draining: boolean;
  readonly allocations: number;
  readonly drainDeadline: string | null;
}

function call(flags: NodeFlags, method: string, body?: unknown): Promise<NodeStatus> {
  const token = flags.adminToken ?? process.env['CLOUDPROXY_ADMIN_TOKEN'];
  if (token === undefined || token === '')
    throw new Error('node: needs --admin-token or CLOUDPROXY_ADMIN_TOKEN');
  const caFile = flags.ca ?? path.join(flags.dataDir ?? 'data', 'tls', 'cert.pem');
  const ca = existsSync(caFile) ? readFileSync(caFile, 'utf8') : undefined;
  const url = new URL(method === 'GET' ? '/api/v1/node' : '/api/v1/node/drain', flags.url);
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${token}`,
          ...(text === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let answer = '';
        res.on('data', (c: Buffer) => (answer += c.toString('utf8')));
        res.on('end', () => {
          if (res.statusCode === 200) resolve(JSON.parse(answer) as NodeStatus);
          else
            reject(new Error(`node: ${method} ${url.pathname}: ${res.statusCode ?? 0} ${answer}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`node: ${flags.url} did not answer in 10 s`)));
    req.on('error', reject);
    req.end(text);
  });
}

function print(status: NodeStatus): void {
  process.stdout.write(
    `${new Date().toISOString()} node ${status.nodeId}: ${status.draining ? 'draining' : 'serving'}, ${status.allocations} live allocations${status.drainDeadline ? `, deadline ${status.drainDeadline}` : ''}\n`,
  );
}

/** Drains, then reports once a second until the node is empty or its deadline passed. */
async function drain(flags: NodeFlags): Promise<void> {
  const timeoutS = Number(flags.timeout ?? '3600');
  if (!Number.isInteger(timeoutS) || timeoutS < 0)
    throw new Error(`--timeout: '${flags.timeout ?? ''}' is not a number of seconds`);
  let status = await call(flags, 'POST', { timeoutS });
  print(status);
  if (flags.wait === false) return;
  const deadlineMs = Date.now() + timeoutS * 1000 + 5000;
  while (status.allocations > 0 && Date.now() < deadlineMs) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    status = await call(flags, 'GET');
    print(status);
  }
  process.stdout.write(
    status.allocations === 0
      ? `node ${status.nodeId} is drained: it can be stopped or restarted\n`
      : `node ${status.nodeId} still has ${status.allocations} allocations\n`,
  );
}

/** Registers `cloudproxy node`. */
export function registerNodeCommand(program: Command): void {
  const node = program
    .command('node')
    .description('operate a running node through its admin endpoint (status, drain, resume)');
  const common = (command: Command): Command =>
    command
      .option('--url <url>', 'the node HTTPS base URL', 'https://127.0.0.1:8443')
      .option('--admin-token <token>', 'admin token (or CLOUDPROXY_ADMIN_TOKEN)')
      .option('--data-dir <dir>', "the node's data directory, for its certificate (default ./data)")
      .option('--ca <file>', 'CA certificate (PEM) to trust for the node');
  common(node.command('status').description('show the node: draining, live allocations')).action(
    async (flags: NodeFlags) => {
      print(await call(flags, 'GET'));
    },
  );
  common(
    node
      .command('drain')
      .description('stop new allocations, wait for live ones to end (the rest end at --timeout)'),
  )
    .option('--timeout <s>', 'seconds before remaining allocations are ended (default 3600)')
    .option('--no-wait', 'return at once instead of reporting until the node is empty')
    .action(async (flags: NodeFlags) => {
      await drain(flags);
    });
  common(node.command('resume').description('stop draining: take new allocations again')).action(
    async (flags: NodeFlags) => {
      print(await call(flags, 'DELETE'));
    },
  );
}
