#!/usr/bin/env node
// Signaling proxy benchmark: our proxy (`node bin/cloudproxy.js proxy …`) against nginx
// configured as the equivalent TLS reverse proxy, both in front of the same loopback HTTPS
// upstream (an nginx answering from memory), under the same wrk load, in alternating runs.
// Prints a progress line per run and writes bench/results/signaling-proxy.{md,json}:
// requests/s and p50/p99 latency for small GETs and 64 KiB POSTs, and ours/nginx ratios.
// Bar: at least 0.5x nginx's requests/s with p99 under 2x nginx's.
//
// Usage: node bench/signaling-proxy.mjs [--quick] [--seconds N] [--rounds N] [--connections N]
//   (`npm run bench` builds first; env BENCH_QUICK=1 works too.)
//
// Fairness: both proxies verify the upstream certificate, pool keep-alive upstream connections,
// stream bodies both ways (nginx: proxy_buffering and proxy_request_buffering off), set
// X-Forwarded-For/-Proto/-Host, and write an access log line per request to a file. Node is one
// process on one core, so nginx runs one worker. When `taskset` exists both proxies are pinned to
// CPU 0 and wrk and the upstream to the other CPUs, so the proxies compete for the same core
// budget. The run is bounded: every process is killed at the end, also on failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const CLI_ENTRY = path.join(REPO_ROOT, 'bin/cloudproxy.js');
const CLI_BUILT = path.join(REPO_ROOT, 'packages/cli/dist/main.js');
const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
const WRK_BIN = process.env.WRK_BIN ?? '/usr/bin/wrk';
const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results');
const POST_BYTES = 64 * 1024;
const READY_TIMEOUT_MS = 15_000;

function parseArgs(argv) {
  const opts = {
    quick: process.env.BENCH_QUICK === '1',
    seconds: undefined,
    rounds: undefined,
    connections: 32,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return Number(value);
    };
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--seconds') opts.seconds = next();
    else if (arg === '--rounds') opts.rounds = next();
    else if (arg === '--connections') opts.connections = next();
    else if (arg === '--help' || arg === '-h') {
      console.log(
        'node bench/signaling-proxy.mjs [--quick] [--seconds N] [--rounds N] [--connections N]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  opts.seconds ??= opts.quick ? 3 : 6;
  opts.rounds ??= 3;
  opts.warmupSeconds = opts.quick ? 3 : 4;
  return opts;
}

// ---------------------------------------------------------------- processes

const children = new Set();
function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

const HAS_TASKSET = existsSync('/usr/bin/taskset') && os.availableParallelism() >= 2;
const OTHER_CPUS = `1-${os.availableParallelism() - 1}`;

/** Spawns `file args`, pinned to `cpus` when taskset is available. */
function start(file, args, cpus, options = {}) {
  const [cmd, argv] = HAS_TASKSET
    ? ['/usr/bin/taskset', ['-c', cpus, file, ...args]]
    : [file, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString('utf8')).slice(-32 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, output: () => output };
}

async function stop(proc) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until a TCP connection to the port succeeds. */
async function waitForPort(port, proc, name) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited:\n${proc.output()}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${name} did not listen on ${port} within ${READY_TIMEOUT_MS} ms:\n${proc.output()}`,
  );
}

// ---------------------------------------------------------------- setup

function makePki(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=bench CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(
    path.join(dir, 'leaf.ext'),
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:upstream.bench.test,DNS:localhost,IP:127.0.0.1\n',
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
  run([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '2',
    '-extfile',
    'leaf.ext',
  ]);
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'leaf.pem'),
    key: path.join(dir, 'leaf.key'),
  };
}

function nginxCommon(dir, name) {
  const tmp = path.join(dir, `${name}-tmp`);
  mkdirSync(tmp, { recursive: true });
  return (
    [
      'daemon off;',
      'worker_processes 1;',
      process.getuid?.() === 0 ? 'user root;' : '',
      `pid ${path.join(dir, `${name}.pid`)};`,
      `error_log ${path.join(dir, `${name}-error.log`)} warn;`,
      'events { worker_connections 4096; }',
    ].join('\n') +
    '\nhttp {\n' +
    [
      `client_body_temp_path ${tmp}/body;`,
      `proxy_temp_path ${tmp}/proxy;`,
      `fastcgi_temp_path ${tmp}/fastcgi;`,
      `uwsgi_temp_path ${tmp}/uwsgi;`,
      `scgi_temp_path ${tmp}/scgi;`,
      'keepalive_requests 100000;',
      'ssl_protocols TLSv1.2 TLSv1.3;',
    ].join('\n')
  );
}

/**
 * The upstream: nginx answering from memory over TLS. POSTs are read completely before the
 * answer (as a real API does) by passing them to an internal plain-HTTP server block.
 */
function upstreamConfig(dir, pki, port, internalPort) {
  return `${nginxCommon(dir, 'upstream')}
access_log off;
client_max_body_size 1m;
client_body_buffer_size 128k;
upstream internal {
  server 127.0.0.1:${internalPort};
  keepalive 32;
}
server {
  listen 127.0.0.1:${port} ssl;
  ssl_certificate ${pki.cert};
  ssl_certificate_key ${pki.key};
  location / {
    return 200 "ok\\n";
  }
  location /upload {
    proxy_pass http://internal;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
  }
}
server {
  listen 127.0.0.1:${internalPort};
  location / {
    return 200 "ok\\n";
  }
}
}
`;
}

/** nginx as the equivalent of our proxy for /127.0.0.1:PORT/{path}. */
function proxyConfig(dir, pki, port, upstreamPort) {
  return `${nginxCommon(dir, 'proxy')}
access_log ${path.join(dir, 'nginx-access.log')};
client_max_body_size 10m;
upstream backend {
  server 127.0.0.1:${upstreamPort};
  keepalive 32;
}
server {
  listen 127.0.0.1:${port} ssl;
  ssl_certificate ${pki.cert};
  ssl_certificate_key ${pki.key};
  location ~ ^/127\\.0\\.0\\.1:${upstreamPort}(/.*)$ {
    proxy_pass https://backend$1$is_args$args;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host 127.0.0.1:${upstreamPort};
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $host;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate ${pki.ca};
    proxy_ssl_name upstream.bench.test;
    proxy_ssl_server_name on;
    proxy_ssl_session_reuse on;
    proxy_buffering off;
    proxy_request_buffering off;
  }
  location / {
    return 404;
  }
}
}
`;
}

// ---------------------------------------------------------------- wrk

function toMs(value, unit) {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = /Socket errors: (.*)/.exec(text)?.[1];
  return { rps, p50Ms: pct(50), p99Ms: pct(99), non2xx, socketErrors: socketErrors ?? null };
}

function runWrk(url, seconds, connections, script) {
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    ...(script ? ['-s', script] : []),
    url,
  ];
  const [cmd, argv] = HAS_TASKSET
    ? ['/usr/bin/taskset', ['-c', OTHER_CPUS, WRK_BIN, ...args]]
    : [WRK_BIN, args];
  const text = execFileSync(cmd, argv, { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
  return parseWrk(text);
}

// ---------------------------------------------------------------- main

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function renderMarkdown(result) {
  const lines = [
    '# Signaling proxy: cloudproxy vs nginx',
    '',
    `Generated by \`node bench/signaling-proxy.mjs\` on ${result.date} (${result.host.cpus} CPUs, ${result.host.cpuModel}, node ${result.host.node}, ${result.host.nginx}).`,
    `wrk -t1 -c${result.config.connections} -d${result.config.seconds}s, ${result.config.rounds} alternating rounds per case; medians shown.`,
    result.config.pinned
      ? 'Both proxies pinned to CPU 0 (nginx with one worker); wrk and the upstream on the other CPUs.'
      : 'Processes not pinned (no taskset).',
    '',
    '| case | ours req/s | nginx req/s | ratio | ours p50 ms | nginx p50 ms | ours p99 ms | nginx p99 ms | p99 ratio | bar |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of result.cases) {
    lines.push(
      `| ${c.name} | ${fmt(c.ours.rps, 0)} | ${fmt(c.nginx.rps, 0)} | ${fmt(c.rpsRatio)} | ${fmt(c.ours.p50Ms)} | ${fmt(c.nginx.p50Ms)} | ${fmt(c.ours.p99Ms)} | ${fmt(c.nginx.p99Ms)} | ${fmt(c.p99Ratio)} | ${c.meetsBar ? 'met' : 'MISSED'} |`,
    );
  }
  lines.push(
    '',
    'Bar: ours ≥ 0.5× nginx requests/s and ours p99 < 2× nginx p99.',
    '',
    '## Runs',
    '',
  );
  lines.push(
    '| case | round | impl | req/s | p50 ms | p99 ms | non-2xx | socket errors |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of result.runs) {
    lines.push(
      `| ${r.case} | ${r.round} | ${r.impl} | ${fmt(r.rps, 0)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${r.non2xx} | ${r.socketErrors ?? ''} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI_BUILT))
    throw new Error('packages/cli/dist is missing: run `npm run build` first');
  for (const bin of [NGINX_BIN, WRK_BIN])
    if (!existsSync(bin)) throw new Error(`${bin} is missing`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-proxy-'));
  const procs = [];
  try {
    execFileSync('chmod', ['755', dir]);
    const pki = makePki(dir);
    const ports = [];
    while (ports.length < 4) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const [upstreamPort, internalPort, nginxPort, oursPort] = ports;
    writeFileSync(
      path.join(dir, 'upstream.conf'),
      upstreamConfig(dir, pki, upstreamPort, internalPort),
    );
    writeFileSync(path.join(dir, 'proxy.conf'), proxyConfig(dir, pki, nginxPort, upstreamPort));
    writeFileSync(
      path.join(dir, 'post.lua'),
      `wrk.method = "POST"\nwrk.body = string.rep("a", ${POST_BYTES})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
    );

    const upstream = start(
      NGINX_BIN,
      ['-e', path.join(dir, 'upstream-error.log'), '-c', path.join(dir, 'upstream.conf')],
      OTHER_CPUS,
    );
    procs.push(upstream);
    const nginx = start(
      NGINX_BIN,
      ['-e', path.join(dir, 'proxy-error.log'), '-c', path.join(dir, 'proxy.conf')],
      '0',
    );
    procs.push(nginx);
    const ours = start(
      process.execPath,
      [
        CLI_ENTRY,
        'proxy',
        '--listen',
        `127.0.0.1:${oursPort}`,
        '--cert',
        pki.cert,
        '--pkey',
        pki.key,
        '--allow-host',
        '127.0.0.1',
        '--allow-port',
        String(upstreamPort),
        '--upstream-ca',
        pki.ca,
        '--allow-private-upstream',
        '127.0.0.0/8',
        '--log-file',
        path.join(dir, 'ours-access.log'),
      ],
      '0',
      { env: { ...process.env, NODE_ENV: 'production' } },
    );
    procs.push(ours);
    await waitForPort(upstreamPort, upstream, 'upstream nginx');
    await waitForPort(nginxPort, nginx, 'proxy nginx');
    await waitForPort(oursPort, ours, 'cloudproxy proxy');

    const impls = {
      ours: `https://127.0.0.1:${oursPort}/127.0.0.1:${upstreamPort}`,
      nginx: `https://127.0.0.1:${nginxPort}/127.0.0.1:${upstreamPort}`,
    };
    const cases = [
      { name: 'GET small', path: '/small', script: undefined },
      {
        name: `POST ${POST_BYTES / 1024} KiB`,
        path: '/upload',
        script: path.join(dir, 'post.lua'),
      },
    ];
    const runs = [];
    const total = cases.length * opts.rounds * 2;
    console.log(
      `signaling-proxy bench: ${total} runs of ${opts.seconds}s (+ ${2 * opts.warmupSeconds}s warm-up per case), ${opts.connections} connections${HAS_TASKSET ? ', pinned' : ''}`,
    );
    for (const c of cases) {
      for (const impl of ['ours', 'nginx'])
        runWrk(`${impls[impl]}${c.path}`, 1, opts.connections, c.script); // warm-up
      for (let round = 1; round <= opts.rounds; round++) {
        const order = round % 2 === 1 ? ['ours', 'nginx'] : ['nginx', 'ours'];
        for (const impl of order) {
          const r = runWrk(`${impls[impl]}${c.path}`, opts.seconds, opts.connections, c.script);
          runs.push({ case: c.name, round, impl, ...r });
          console.log(
            `[${runs.length}/${total}] ${c.name} round ${round} ${impl.padEnd(5)}: ${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}${r.socketErrors ? `, socket errors ${r.socketErrors}` : ''}`,
          );
        }
      }
    }
    const summary = cases.map((c) => {
      const pick = (impl) => {
        const rs = runs.filter((r) => r.case === c.name && r.impl === impl);
        return {
          rps: median(rs.map((r) => r.rps)),
          p50Ms: median(rs.map((r) => r.p50Ms)),
          p99Ms: median(rs.map((r) => r.p99Ms)),
        };
      };
      const o = pick('ours');
      const n = pick('nginx');
      const rpsRatio = o.rps / n.rps;
      const p99Ratio = o.p99Ms / n.p99Ms;
      return {
        name: c.name,
        ours: o,
        nginx: n,
        rpsRatio,
        p99Ratio,
        meetsBar: rpsRatio >= 0.5 && p99Ratio < 2,
      };
    });
    const nginxVersion = spawnSync(NGINX_BIN, ['-v'], { encoding: 'utf8' })
      .stderr.trim()
      .replace('nginx version: ', '');
    const result = {
      date: new Date().toISOString(),
      host: {
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        nginx: nginxVersion || 'nginx',
      },
      config: {
        seconds: opts.seconds,
        rounds: opts.rounds,
        connections: opts.connections,
        postBytes: POST_BYTES,
        pinned: HAS_TASKSET,
      },
      cases: summary,
      runs,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(
      path.join(RESULTS_DIR, 'signaling-proxy.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    const markdown = renderMarkdown(result);
    writeFileSync(path.join(RESULTS_DIR, 'signaling-proxy.md'), markdown);
    console.log(`\n${markdown}`);
    const oursLog = readFileSync(path.join(dir, 'ours-access.log'), 'utf8');
    if (!oursLog.includes('"event":"ready"'))
      console.log('warning: our proxy logged no ready line');
  } finally {
    for (const proc of procs.reverse()) await stop(proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  killAll();
  process.exit(1);
});
