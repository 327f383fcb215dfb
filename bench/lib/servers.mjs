/**
 * The servers under test: coturn's `turnserver` and `cloudproxy turn` (JavaScript or native
 * data plane) started with the same flags on loopback, the `turnutils_peer` UDP echo peer, and
 * a throw-away PKI for the TLS benchmarks.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, firstLineOf, startProcess } from './proc.mjs';
import { bindingRequest, freePort, tcpAccepts, udpAnswers, waitUntil } from './net.mjs';

export const COTURN_BIN = process.env.COTURN_BIN ?? '/usr/bin/turnserver';
export const UCLIENT_BIN = '/usr/bin/turnutils_uclient';
export const PEER_BIN = '/usr/bin/turnutils_peer';
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
export const WRK_BIN = process.env.WRK_BIN ?? '/usr/bin/wrk';
export const CLI_ENTRY = path.join(REPO_ROOT, 'bin/cloudproxy.js');
export const CLI_BUILT = path.join(REPO_ROOT, 'packages/cli/dist/main.js');

/**
 * Extra Node flags for our TURN servers and proxies (BENCH_NODE_FLAGS, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/p`).
 */
export const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/** The long-term credentials every TURN benchmark uses. */
export const TURN_USER = { name: 'bench', password: 'bench-password', realm: 'bench.cloudproxy' };

/** Threads given to coturn (`--relay-threads`): the cores our native data plane uses. */
export const COTURN_THREADS = Number(process.env.BENCH_THREADS) || os.availableParallelism();

/** Throws naming the missing tools. */
export function requireTools(files) {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(`missing: ${missing.join(', ')} (scripts/install-deps.sh installs them)`);
  }
  if (!existsSync(CLI_BUILT)) throw new Error('packages/cli/dist is missing: run `npm run build`');
}

let dataPlaneHelp;
/**
 * Which `cloudproxy turn` implementations exist: `ours-js` always; `ours-native` when
 * `cloudproxy turn --help` lists `--data-plane`. `note` says why a row is missing.
 */
export function turnImplementations() {
  dataPlaneHelp ??= firstLineOf('/bin/sh', [
    '-c',
    `"${process.execPath}" "${CLI_ENTRY}" turn --help | grep -e '--data-plane' || echo none`,
  ]);
  const hasFlag = dataPlaneHelp.includes('--data-plane');
  return {
    impls: hasFlag ? ['coturn', 'ours-js', 'ours-native'] : ['coturn', 'ours-js'],
    hasDataPlaneFlag: hasFlag,
    note: hasFlag
      ? undefined
      : '`cloudproxy turn --help` lists no `--data-plane`: the ours-native rows are skipped and ours-js runs without the flag.',
  };
}

/**
 * The flags both servers get, coturn's option names (`cloudproxy turn` takes the same).
 * @param {{ port: number, tlsPort?: number, cert?: string, pkey?: string,
 *   relayIps?: string[], minPort?: number, maxPort?: number }} o
 */
export function sharedTurnFlags(o) {
  const flags = ['--listening-ip', '127.0.0.1', '--listening-port', String(o.port)];
  for (const ip of o.relayIps ?? ['127.0.0.1']) flags.push('--relay-ip', ip);
  if (o.minPort) flags.push('--min-port', String(o.minPort), '--max-port', String(o.maxPort));
  flags.push('--realm', TURN_USER.realm, '--lt-cred-mech');
  flags.push('--user', `${TURN_USER.name}:${TURN_USER.password}`, '--allow-loopback-peers');
  flags.push('--no-dtls', '--no-cli', '--fingerprint');
  if (o.tlsPort) {
    flags.push('--tls-listening-port', String(o.tlsPort), '--cert', o.cert, '--pkey', o.pkey);
  } else flags.push('--no-tls');
  return flags;
}

/**
 * The command line of one implementation: [file, args]. `dataPlaneThreads` sets the native
 * plane's workers (`--data-plane-threads`; by default it sizes them itself).
 */
export function turnCommand(impl, flags, workDir, hasDataPlaneFlag, dataPlaneThreads) {
  if (impl === 'coturn') {
    const conf = path.join(workDir, 'turnserver.conf');
    writeFileSync(conf, '# empty: keeps coturn away from /etc/turnserver.conf\n');
    const own = ['-c', conf, ...flags, '--relay-threads', String(COTURN_THREADS)];
    own.push('--no-rfc5780', '--log-file', 'stdout', '--simple-log');
    own.push('--pidfile', path.join(workDir, 'turnserver.pid'));
    own.push('--userdb', path.join(workDir, 'turndb'));
    return [COTURN_BIN, own];
  }
  const plane = impl === 'ours-native' ? 'native' : 'js';
  const own = [...NODE_FLAGS, CLI_ENTRY, 'turn', ...flags, '--drain-timeout', '0'];
  if (hasDataPlaneFlag) own.push('--data-plane', plane);
  if (plane === 'native' && dataPlaneThreads) {
    own.push('--data-plane-threads', String(dataPlaneThreads));
  }
  return [process.execPath, own];
}

/**
 * Starts one TURN server and waits until it answers a Binding request (and accepts TLS
 * connections when `tlsPort` is set).
 * @returns {Promise<{ impl: string, port: number, pid: number, proc: object, command: string,
 *   stop: () => Promise<void> }>}
 */
export async function startTurnServer(impl, options, hasDataPlaneFlag) {
  const workDir = mkdtempSync(path.join(os.tmpdir(), `bench-${impl}-`));
  const port = options.port ?? (await freePort());
  const flags = sharedTurnFlags({ ...options, port });
  const [file, args] = turnCommand(
    impl,
    flags,
    workDir,
    hasDataPlaneFlag,
    options.dataPlaneThreads,
  );
  const env = { ...process.env, NODE_ENV: 'production' };
  const proc = startProcess(file, args, { env });
  const cleanup = () => rmSync(workDir, { recursive: true, force: true });
  try {
    await waitUntil(proc, `${impl} server`, () =>
      udpAnswers('127.0.0.1', port, bindingRequest(), 200),
    );
    if (options.tlsPort) {
      const tlsPort = options.tlsPort;
      await waitUntil(proc, `${impl} TLS listener`, () => tcpAccepts('127.0.0.1', tlsPort));
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    impl,
    port,
    pid: proc.pid,
    proc,
    command: [path.basename(file), ...args.map((a) => a.replace(workDir, '$TMP'))].join(' '),
    stop: async () => {
      await proc.stop();
      cleanup();
    },
  };
}

/** Starts `turnutils_peer`, a UDP echo peer on 127.0.0.1. */
export async function startEchoPeer() {
  const port = await freePort();
  const proc = startProcess(PEER_BIN, ['-L', '127.0.0.1', '-p', String(port)]);
  const probe = bindingRequest();
  await waitUntil(proc, 'turnutils_peer', () => udpAnswers('127.0.0.1', port, probe, 200), 5000);
  return { port, pid: proc.pid, stop: () => proc.stop() };
}

/**
 * A CA and a leaf certificate for 127.0.0.1, localhost and upstream.bench.test (EC P-256,
 * made with openssl in `dir`).
 * @returns {{ ca: string, cert: string, key: string }} PEM file paths
 */
export function makePki(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2'].concat([
      '-subj',
      '/CN=bench CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]),
  );
  writeFileSync(
    path.join(dir, 'leaf.ext'),
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=DNS:upstream.bench.test,DNS:localhost,IP:127.0.0.1\n',
  );
  run([
    'req',
    ...ec,
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=upstream.bench.test',
  ]);
  run(
    [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
    ].concat(['-out', 'leaf.pem', '-days', '2', '-extfile', 'leaf.ext']),
  );
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'leaf.pem'),
    key: path.join(dir, 'leaf.key'),
  };
}
