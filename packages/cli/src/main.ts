#!/usr/bin/env node
/**
 * The `cloudproxy` command: `start` (everything, embedded defaults) and `turn` (the TURN/STUN
 * server alone, coturn-compatible flags).
 * @module
 */
import { Command } from 'commander';
import type { StartFlags } from './commands/start.js';

const VERSION = '0.1.0';

/** Prints a configuration or startup error the way an operator needs it, and exits 1. */
function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    message.startsWith('cloudproxy') ? `${message}\n` : `cloudproxy: ${message}\n`,
  );
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('cloudproxy')
    .description('Self-hosted cloud proxy for real-time calling: TURN/STUN relay and more.')
    .version(VERSION, '--version')
    .enablePositionalOptions();
  program
    .command('start')
    .description('run the whole system in one process with embedded defaults')
    .option('--config <file>', 'YAML configuration (cloudproxy.yaml)')
    .option(
      '--strict-config-permissions',
      'refuse a --config file that others may read and that holds secrets (else a warning)',
    )
    .option('--data-dir <dir>', 'data directory: store, secrets, certificates (default ./data)')
    .option(
      '--https-port <n>',
      'HTTPS port: API, console, proxy, metrics and TURN over TLS (default 443 if it can be bound, else 8443)',
    )
    .option('--turn-port <n>', 'TURN/STUN UDP and TCP port (default 3478)')
    .option('--turn-tls-port <n>', 'TURN over TLS port (default 5349)')
    .option('--listen-ip <ip...>', 'addresses to listen on (default all)')
    .option('--relay-ip <ip...>', 'relay addresses (default the listening addresses)')
    .option('--allow-loopback-peers', 'let clients relay to loopback peers (tests, demos)')
    .option('--admin-token <token>', 'admin token (or CLOUDPROXY_ADMIN_TOKEN; else generated)')
    .option('--region <name>', 'region of this node (default "default")')
    .option('--public-host <name>', 'host name or address clients use to reach this node')
    .option('--database-url <url>', 'PostgreSQL (postgres://…) instead of SQLite in the data dir')
    .option('--no-shared-turn', 'do not serve TURN over TLS on the HTTPS port')
    .option('--role <role>', 'cluster role: all (default), relay (TURN) or api (HTTPS, no TURN)')
    .option(
      '--redis-url <url>',
      'cluster mode: Redis (or CLOUDPROXY_REDIS_URL); needs --database-url',
    )
    .option('--node-id <id>', 'cluster node id, unique and stable (default the host name)')
    .option(
      '--capacity <n>',
      'most allocations before redirecting to other nodes (default 0: none)',
    )
    .option('--region-order <regions...>', 'regions to try when the requested one has no node')
    .option('--heartbeat-ms <ms>', 'cluster heartbeat period (default 1000)')
    .option('--node-ttl-ms <ms>', 'a silent node is gone after this (default 5000)')
    .option('--usage-interval-ms <ms>', 'usage push/flush period (default 10000)')
    .option(
      '--proxy-protocol-from <cidr...>',
      'load balancers that send a PROXY protocol v1/v2 header (HTTPS port, TURN TCP/TLS)',
    )
    .action(async (opts: StartFlags) => {
      const { runStart } = await import('./commands/start.js');
      await runStart(opts);
    });
  program
    .command('turn')
    .description('run the TURN/STUN server alone (coturn-compatible flags and turnserver.conf)')
    .helpOption(false)
    .passThroughOptions()
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[options...]', 'coturn-style options, see `cloudproxy turn --help`')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      const args = command.args;
      if (args.includes('--help') || args.includes('-h')) {
        const { turnHelpText } = await import('./config/turn-help.js');
        process.stdout.write(turnHelpText());
        return;
      }
      const { loadConfig, runTurn } = await import('./commands/turn.js');
      await runTurn(loadConfig(args), () => loadConfig(args).server);
    });
  // Each command loads only its own modules: a relay does not hold the control plane's SQL
  // builder or the proxy's HTTP client in memory (about 20 MiB of heap and code). The other
  // commands are registered when they are asked for, or for the command list.
  const asked = argv[2];
  const all = asked === undefined || asked.startsWith('-') || asked === 'help';
  if (all || asked === 'proxy') (await import('./commands/proxy.js')).registerProxyCommand(program);
  if (all || asked === 'api') (await import('./commands/api.js')).registerApiCommand(program);
  if (all || asked === 'node') (await import('./commands/node.js')).registerNodeCommand(program);
  await program.parseAsync(argv);
}

main(process.argv).catch(fail);
