/**
 * The HTTP side of the benchmarks: nginx as the upstream and as the reference reverse proxy,
 * `cloudproxy proxy` configured as the same proxy, CPU pinning with taskset, and wrk runs.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from './proc.mjs';
import { tcpAccepts, waitUntil } from './net.mjs';
import { CLI_ENTRY, NGINX_BIN, NODE_FLAGS, WRK_BIN } from './servers.mjs';

/** Proxies on CPU 0, everything else on the other CPUs, when taskset exists and CPUs ≥ 2. */
export const PINNED = existsSync('/usr/bin/taskset') && os.availableParallelism() >= 2;
export const OTHER_CPUS = `1-${os.availableParallelism() - 1}`;

/** Spawns `file args`, pinned to `cpus` when PINNED; waits until `port` accepts TCP. */
export async function startListening(name, file, args, cpus, port, env) {
  const [cmd, argv] = PINNED ? ['/usr/bin/taskset', ['-c', cpus, file, ...args]] : [file, args];
  const proc = startProcess(cmd, argv, env ? { env } : {});
  await waitUntil(proc, name, () => tcpAccepts('127.0.0.1', port));
  return proc;
}

function nginxCommon(dir, name, workers = 1) {
  const tmp = path.join(dir, `${name}-tmp`);
  mkdirSync(tmp, { recursive: true });
  return [
    'daemon off;',
    `worker_processes ${workers};`,
    process.getuid?.() === 0 ? 'user root;' : '',
    `pid ${path.join(dir, `${name}.pid`)};`,
    `error_log ${path.join(dir, `${name}-error.log`)} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    `client_body_temp_path ${tmp}/body;`,
    `proxy_temp_path ${tmp}/proxy;`,
    `fastcgi_temp_path ${tmp}/fastcgi;`,
    `uwsgi_temp_path ${tmp}/uwsgi;`,
    `scgi_temp_path ${tmp}/scgi;`,
    'keepalive_requests 100000;',
    'ssl_protocols TLSv1.2 TLSv1.3;',
  ].join('\n');
}

/**
 * The upstream: nginx answering from memory over TLS; POSTs to /upload are read completely
 * (passed to an internal plain-HTTP server block) before the answer, as a real API does.
 */
export function upstreamConfig(dir, pki, port, internalPort) {
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
  location / { return 200 "ok\\n"; }
  location /upload {
    proxy_pass http://internal;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
  }
}
server {
  listen 127.0.0.1:${internalPort};
  location / { return 200 "ok\\n"; }
}
}
`;
}

/**
 * nginx as the equivalent of our proxy for https://…/127.0.0.1:UPSTREAM/{path}: upstream
 * certificate verified, keep-alive pool, bodies streamed both ways, X-Forwarded-* set, an
 * access log line per request, WebSocket upgrades passed on.
 */
export function proxyConfig(dir, pki, port, upstreamPort, workers = 1) {
  return `${nginxCommon(dir, 'proxy', workers)}
access_log ${path.join(dir, 'nginx-access.log')};
client_max_body_size 10m;
map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
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
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
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
  location / { return 404; }
}
}
`;
}

/** Starts nginx with `config` written to `dir/<name>.conf`. */
export function startNginx(dir, name, config, cpus, port) {
  const file = path.join(dir, `${name}.conf`);
  writeFileSync(file, config);
  const args = ['-e', path.join(dir, `${name}-error.log`), '-c', file];
  return startListening(`nginx ${name}`, NGINX_BIN, args, cpus, port);
}

/**
 * Starts `cloudproxy proxy` on `port` allowing the upstream at 127.0.0.1:upstreamPort, with
 * `workers` processes (`--workers`) pinned to `cpus`.
 */
export function startOurProxy(dir, pki, port, upstreamPort, workers = 1, cpus = '0') {
  const args = [
    ...NODE_FLAGS,
    CLI_ENTRY,
    'proxy',
    '--listen',
    `127.0.0.1:${port}`,
    '--workers',
    String(workers),
  ];
  args.push('--cert', pki.cert, '--pkey', pki.key, '--allow-host', '127.0.0.1');
  args.push('--allow-port', String(upstreamPort), '--upstream-ca', pki.ca);
  args.push('--allow-private-upstream', '127.0.0.0/8');
  args.push('--log-file', path.join(dir, 'ours-access.log'));
  const env = { ...process.env, NODE_ENV: 'production' };
  return startListening('cloudproxy proxy', process.execPath, args, cpus, port, env);
}

function toMs(value, unit) {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

/** Requests/s, p50/p99 latency (ms), non-2xx count and socket errors from wrk's output. */
export function parseWrk(text) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = /Socket errors: (.*)/.exec(text)?.[1] ?? null;
  return { rps, p50Ms: pct(50), p99Ms: pct(99), non2xx, socketErrors };
}

/** One wrk run (one thread, on the non-proxy CPUs by default), bounded at its duration + 20 s. */
export function runWrk(url, seconds, connections, script, cpus = OTHER_CPUS) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
  if (script) args.push('-s', script);
  args.push(url);
  const [cmd, argv] = PINNED
    ? ['/usr/bin/taskset', ['-c', cpus, WRK_BIN, ...args]]
    : [WRK_BIN, args];
  const text = execFileSync(cmd, argv, { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
  return parseWrk(text);
}
