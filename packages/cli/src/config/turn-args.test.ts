import { describe, expect, it } from 'vitest';
import { COTURN_LONG_OPTIONS } from './coturn-options.js';
import { loadTurnConfig, parseTurnArgs, parseTurnConfigFile } from './turn-args.js';
import type { TurnConfigSource } from './turn-args.js';
import { TURN_OPTIONS, findTurnOption } from './turn-options-table.js';

const SECRET = ['--use-auth-secret', '--static-auth-secret', 'north'];

describe('parseTurnArgs: the command line', () => {
  const cases: { name: string; argv: string[]; server?: object; cli?: object }[] = [
    {
      name: '--name value and --name=value',
      argv: [
        '--listening-port',
        '3479',
        '--tls-listening-port=5350',
        '--realm=example.org',
        ...SECRET,
      ],
      server: { listeningPort: 3479, tlsListeningPort: 5350, realm: 'example.org' },
    },
    {
      name: 'short aliases with separate and attached values',
      argv: ['-p', '3479', '-L10.0.0.2', '-L', '::1', '-E', '10.0.0.3', '-r', 'r', '-u', 'a:b'],
      server: {
        listeningPort: 3479,
        listeningIps: ['10.0.0.2', '::1'],
        relayAddresses: [{ relayIp: '10.0.0.3', externalIp: undefined }],
        realm: 'r',
        auth: { users: { a: 'b' } },
      },
    },
    {
      name: 'bundled short flags, the last one taking a value',
      argv: ['-avfu', 'alice:pw'],
      server: { auth: { users: { alice: 'pw' } } },
      cli: { verbose: true },
    },
    {
      name: 'repeatable options accumulate in order',
      argv: [
        '--user=a:1',
        '--user',
        'b:2:with:colons',
        '--static-auth-secret=s1',
        '--static-auth-secret=s2',
        '--denied-peer-ip=8.8.8.0/24',
        '--denied-peer-ip',
        '1.1.1.0-1.1.1.9',
        '--allowed-peer-ip=10.0.0.5',
        '--use-auth-secret',
      ],
      server: {
        auth: { users: { a: '1', b: '2:with:colons' }, staticAuthSecrets: ['s1', 's2'] },
        peerPolicy: {
          deniedPeerIps: ['8.8.8.0/24', '1.1.1.0-1.1.1.9'],
          allowedPeerIps: ['10.0.0.5'],
        },
      },
    },
    {
      name: 'flags, with coturn boolean values',
      argv: ['--no-udp', '--no-tcp=yes', '--no-tls=off', '--allow-loopback-peers=1', '--no-auth'],
      server: {
        noUdp: true,
        noTcp: true,
        noTls: false,
        peerPolicy: { allowLoopbackPeers: true },
        auth: { noAuth: true },
      },
    },
    {
      name: 'quotas and lifetimes',
      argv: [
        '-q',
        '5',
        '-Q',
        '100',
        '-s',
        '125000',
        '--stale-nonce=60',
        '--max-allocate-lifetime',
        '1800',
        ...SECRET,
      ],
      server: {
        userQuota: 5,
        totalQuota: 100,
        maxBps: 125000,
        nonceLifetimeS: 60,
        maxLifetimeS: 1800,
      },
    },
    {
      name: 'optional-value options given bare use coturn defaults, without eating the next option',
      argv: ['--stale-nonce', '--channel-lifetime', '--permission-lifetime', '--no-udp', ...SECRET],
      server: { nonceLifetimeS: 600, channelLifetimeS: 600, permissionLifetimeS: 300, noUdp: true },
    },
    {
      name: 'TLS files',
      argv: ['--cert', '/etc/ssl/turn.pem', '--pkey=/etc/ssl/turn.key', ...SECRET],
      server: { certFile: '/etc/ssl/turn.pem', keyFile: '/etc/ssl/turn.key' },
    },
    {
      name: 'software attribute off',
      argv: ['--no-software-attribute', ...SECRET],
      server: { software: false },
    },
    {
      name: 'software attribute back on',
      argv: ['--no-software-attribute', '--software-attribute', ...SECRET],
      server: { software: undefined },
    },
    {
      name: 'CLI-only options',
      argv: [
        '-c',
        'turnserver.conf',
        '-l',
        '/var/log/turn.log',
        '-V',
        '--prometheus',
        '--prometheus-port=9100',
        '--prometheus-address',
        '0.0.0.0',
        '--pidfile=/run/turn.pid',
        ...SECRET,
      ],
      cli: {
        configFile: 'turnserver.conf',
        logFile: '/var/log/turn.log',
        verbose: true,
        extraVerbose: true,
        prometheus: { enabled: true, port: 9100, address: '0.0.0.0' },
        pidfile: '/run/turn.pid',
        help: false,
      },
    },
    {
      name: 'CLI defaults',
      argv: SECRET,
      cli: {
        verbose: false,
        extraVerbose: false,
        prometheus: { enabled: false, port: 9641, address: '127.0.0.1' },
        help: false,
      },
    },
    {
      name: 'accepted no-op options change nothing',
      argv: [
        '--fingerprint',
        '--no-cli',
        '--no-dtls',
        '--no-multicast-peers',
        '--no-loopback-peers',
        '--no-tlsv1',
        '--no-tlsv1_1',
        ...SECRET,
      ],
      server: {
        auth: { staticAuthSecrets: ['north'] },
        peerPolicy: { allowLoopbackPeers: undefined },
      },
    },
    {
      name: 'the last single value wins',
      argv: ['-p', '1', '-p', '2', '--realm=a', '--realm=b', ...SECRET],
      server: { listeningPort: 2, realm: 'b' },
    },
    {
      name: '-- ends the options',
      argv: [...SECRET, '--'],
      server: { auth: { staticAuthSecrets: ['north'] } },
    },
  ];
  for (const c of cases) {
    it(`parses ${c.name}`, () => {
      const parsed = parseTurnArgs(c.argv);
      if (c.server) expect(parsed.server).toMatchObject(c.server);
      if (c.cli) expect(parsed.cli).toMatchObject(c.cli);
    });
  }

  it('--help skips the cross-checks', () => {
    expect(parseTurnArgs(['--help', '--use-auth-secret']).cli.help).toBe(true);
    expect(parseTurnArgs(['-h']).cli.help).toBe(true);
  });
});

describe('parseTurnArgs: external and relay addresses', () => {
  const cases: { name: string; argv: string[]; relays: unknown }[] = [
    { name: 'none given: left to the server', argv: [], relays: undefined },
    {
      name: 'plain public address maps the listening addresses of its family',
      argv: ['-X', '203.0.113.5'],
      relays: [
        { relayIp: '0.0.0.0', externalIp: '203.0.113.5' },
        { relayIp: '::', externalIp: undefined },
      ],
    },
    {
      name: 'plain public address maps the relay addresses of its family, not loopback',
      argv: ['-E', '10.0.0.5', '-E', '127.0.0.1', '-E', 'fd00::5', '-X', '203.0.113.5'],
      relays: [
        { relayIp: '10.0.0.5', externalIp: '203.0.113.5' },
        { relayIp: '127.0.0.1', externalIp: undefined },
        { relayIp: 'fd00::5', externalIp: undefined },
      ],
    },
    {
      name: 'public/private maps that relay address, adding it if needed',
      argv: ['-E', '10.0.0.5', '-X', '203.0.113.5/10.0.0.5', '-X', '2001:db8::5/fd00::5'],
      relays: [
        { relayIp: '10.0.0.5', externalIp: '203.0.113.5' },
        { relayIp: 'fd00::5', externalIp: '2001:db8::5' },
      ],
    },
    {
      name: 'one plain address per family',
      argv: ['-L', '10.0.0.5', '-L', 'fd00::5', '-X', '203.0.113.5', '-X', '2001:db8::5'],
      relays: [
        { relayIp: '10.0.0.5', externalIp: '203.0.113.5' },
        { relayIp: 'fd00::5', externalIp: '2001:db8::5' },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(parseTurnArgs([...c.argv, ...SECRET]).server.relayAddresses).toEqual(c.relays);
    });
  }
});

describe('parseTurnArgs: errors name the option', () => {
  const cases: { argv: string[]; message: string }[] = [
    {
      argv: ['--listening-port', 'abc'],
      message: "cloudproxy turn: --listening-port: expected an integer 0-65535, got 'abc'",
    },
    {
      argv: ['-p', '70000'],
      message: "--listening-port: expected an integer 0-65535, got '70000'",
    },
    { argv: ['-p', '-1'], message: "--listening-port: expected an integer 0-65535, got '-1'" },
    { argv: ['--min-port=0'], message: "--min-port: expected an integer 1-65535, got '0'" },
    { argv: ['--max-port=1e3'], message: "--max-port: expected an integer 1-65535, got '1e3'" },
    {
      argv: ['--user-quota=1.5'],
      message: "--user-quota: expected an integer 0-2147483647, got '1.5'",
    },
    {
      argv: ['--stale-nonce=0'],
      message: "--stale-nonce: expected an integer 1-2147483647, got '0'",
    },
    {
      argv: ['--no-udp=maybe'],
      message: "--no-udp: expected a boolean (yes/no, on/off, true/false, 1/0), got 'maybe'",
    },
    { argv: ['--realm'], message: 'cloudproxy turn: --realm: missing value <realm>' },
    { argv: ['--realm='], message: "cloudproxy turn: --realm: expected a value, got ''" },
    { argv: ['-p'], message: 'cloudproxy turn: --listening-port: missing value <port>' },
    {
      argv: ['--listening-ip', 'eth0'],
      message: "--listening-ip: expected an ip address, got 'eth0'",
    },
    {
      argv: ['-L', 'fe80::1%eth0'],
      message: "--listening-ip: expected an ip address, got 'fe80::1%eth0'",
    },
    {
      argv: ['--relay-ip=localhost'],
      message: "--relay-ip: expected an ip address, got 'localhost'",
    },
    {
      argv: ['--prometheus-address=any'],
      message: "--prometheus-address: expected an ip address, got 'any'",
    },
    {
      argv: ['-X', 'my.host'],
      message: "--external-ip: expected public-ip or public-ip/private-ip, got 'my.host'",
    },
    {
      argv: ['-X', '1.2.3.4/5.6.7.8/9.9.9.9'],
      message: '--external-ip: expected public-ip or public-ip/private-ip',
    },
    {
      argv: ['-X', '1.2.3.4/fd00::1'],
      message:
        "--external-ip: public and private address are of different families in '1.2.3.4/fd00::1'",
    },
    {
      argv: ['--denied-peer-ip=10.0.0.0/33'],
      message:
        "--denied-peer-ip: expected an ip address, cidr (10.0.0.0/8) or range (10.0.0.0-10.255.255.255), got '10.0.0.0/33'",
    },
    {
      argv: ['--allowed-peer-ip=10.0.0.1-::1'],
      message: '--allowed-peer-ip: expected an ip address, cidr',
    },
    { argv: ['--allowed-peer-ip=fc00::/129'], message: "got 'fc00::/129'" },
    { argv: ['--user', 'alice'], message: "--user: expected name:password, got no ':'" },
    { argv: ['--user', ':pw'], message: '--user: expected name:password, got an empty name' },
    {
      argv: ['--user', 'alice:'],
      message: "--user: expected name:password, got an empty password for 'alice'",
    },
    {
      argv: ['--user', 'alice:0x0123456789abcdef0123456789abcdef'],
      message:
        "--user: the name:0x<hex key> form (coturn's precomputed key) is not supported; give the password for 'alice'",
    },
    { argv: ['--static-auth-secret='], message: "--static-auth-secret: expected a value, got ''" },
    {
      argv: ['--mobility'],
      message: 'cloudproxy turn: option --mobility (coturn) is not supported',
    },
    {
      argv: ['--userdb=/var/db/turndb'],
      message: 'cloudproxy turn: option --userdb (coturn) is not supported',
    },
    { argv: ['-o'], message: 'cloudproxy turn: option -o (coturn --daemon) is not supported' },
    { argv: ['-avS'], message: 'cloudproxy turn: option -S (coturn --stun-only) is not supported' },
    { argv: ['--frobnicate'], message: 'cloudproxy turn: unknown option --frobnicate' },
    { argv: ['--verbose-ish=1'], message: 'cloudproxy turn: unknown option --verbose-ish' },
    { argv: ['-x'], message: 'cloudproxy turn: unknown option -x' },
    { argv: ['--VERBOSE'], message: 'cloudproxy turn: unknown option --VERBOSE' },
    {
      argv: ['turnserver.conf'],
      message: "cloudproxy turn: unexpected argument 'turnserver.conf'",
    },
    { argv: ['--', '-p'], message: "cloudproxy turn: unexpected argument '-p'" },
    { argv: ['-'], message: "cloudproxy turn: unexpected argument '-'" },
    {
      argv: ['--use-auth-secret'],
      message:
        'cloudproxy turn: --use-auth-secret needs the shared secret: add --static-auth-secret <secret>',
    },
    {
      argv: ['--lt-cred-mech'],
      message:
        'cloudproxy turn: --lt-cred-mech needs credentials: add --user name:password, or --use-auth-secret with --static-auth-secret <secret>',
    },
    { argv: ['-z', '-u', 'a:b'], message: 'cloudproxy turn: --no-auth cannot be combined with' },
    { argv: ['-z', '-a'], message: 'cloudproxy turn: --no-auth cannot be combined with' },
    {
      argv: ['--min-port=50000', '--max-port=40000'],
      message: 'cloudproxy turn: --min-port 50000 is greater than --max-port 40000',
    },
    {
      argv: ['-X', '203.0.113.5', '-X', '203.0.113.6'],
      message:
        '--external-ip given 2 times for IPv4 without a private address (203.0.113.5, 203.0.113.6)',
    },
    {
      argv: ['-L', '10.0.0.5', '-X', '2001:db8::5'],
      message:
        'cloudproxy turn: --external-ip: no relay address of the family of 2001:db8::5 left to map',
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.argv.join(' ')}`, () => {
      expect(() => parseTurnArgs(c.argv)).toThrow(c.message);
      expect(() => parseTurnArgs(c.argv)).toThrow(
        expect.objectContaining({ code: 'ERR_CLI_TURN_CONFIG', name: 'TurnConfigError' }),
      );
    });
  }

  it('refuses every coturn option it does not implement, by name', () => {
    const unsupported = COTURN_LONG_OPTIONS.filter((name) => findTurnOption(name) === undefined);
    expect(unsupported.length).toBeGreaterThan(70);
    for (const name of unsupported) {
      expect(() => parseTurnArgs([`--${name}=1`]), name).toThrow(
        `option --${name} (coturn) is not supported`,
      );
    }
  });

  it('names the option for a missing value, whichever option it is', () => {
    for (const spec of TURN_OPTIONS.filter(
      (s) => s.kind !== 'flag' && !(s.kind === 'int' && s.bareValue !== undefined),
    )) {
      expect(() => parseTurnArgs([`--${spec.name}`]), spec.name).toThrow(
        `cloudproxy turn: --${spec.name}: missing value`,
      );
    }
  });

  it('names the option for a bad boolean or integer, whichever option it is', () => {
    for (const spec of TURN_OPTIONS.filter((s) => s.kind === 'flag' || s.kind === 'int')) {
      expect(() => parseTurnArgs([`--${spec.name}=bogus`]), spec.name).toThrow(
        `cloudproxy turn: --${spec.name}: expected`,
      );
    }
  });
});

describe('parseTurnArgs: warnings', () => {
  const cases: { argv: string[]; warning: string }[] = [
    { argv: ['-m', '4', ...SECRET], warning: '--relay-threads 4 is ignored' },
    {
      argv: ['--allow-loopback-peers', ...SECRET],
      warning: '--allow-loopback-peers: loopback peers are reachable',
    },
    {
      argv: ['-u', 'a:1', '-u', 'a:2'],
      warning: "cloudproxy turn: --user: user 'a' given again; the last password wins",
    },
    { argv: ['-u', 'a:1', ...SECRET], warning: 'coturn would accept only TURN REST credentials' },
  ];
  for (const c of cases) {
    it(`warns for ${c.argv.join(' ')}`, () => {
      expect(parseTurnArgs(c.argv).warnings.join('\n')).toContain(c.warning);
    });
  }

  it('has no warnings for a plain configuration', () => {
    expect(parseTurnArgs(SECRET).warnings).toEqual([]);
  });
});

describe('parseTurnConfigFile: turnserver.conf syntax', () => {
  const cases: { name: string; text: string; server?: object; cli?: object }[] = [
    { name: 'name=value', text: 'listening-port=3479\nuser=a:b', server: { listeningPort: 3479 } },
    {
      name: 'name = value',
      text: 'listening-port = 3479\nuser = a:b',
      server: { listeningPort: 3479, auth: { users: { a: 'b' } } },
    },
    {
      name: 'name value, tabs',
      text: 'listening-port\t3479\nuser  a:b',
      server: { listeningPort: 3479, auth: { users: { a: 'b' } } },
    },
    {
      name: 'bare flags and flag values',
      text: 'no-udp\nno-tcp=false\nno-tls on\nuser=a:b',
      server: { noUdp: true, noTcp: false, noTls: true },
    },
    {
      name: 'comments, blank lines, indentation and CRLF',
      text: '# coturn style\r\n\r\n   # indented comment\r\n  realm=example.org  \r\nuser=a:b\r\n',
      server: { realm: 'example.org' },
    },
    {
      name: 'double quotes',
      text: 'realm="example org"\npidfile="/run/turn.pid"\nuser=a:b',
      server: { realm: 'example org' },
      cli: { pidfile: '/run/turn.pid' },
    },
    {
      name: 'single quotes',
      text: "realm='example.org'\nuser=a:b",
      server: { realm: 'example.org' },
    },
    {
      name: 'a # inside a value is part of it',
      text: 'user=alice:pa#ss',
      server: { auth: { users: { alice: 'pa#ss' } } },
    },
    {
      name: 'an = inside a value is part of it',
      text: 'static-auth-secret=abc==\nuse-auth-secret',
      server: { auth: { staticAuthSecrets: ['abc=='] } },
    },
    {
      name: 'repeatable keys',
      text: 'listening-ip=10.0.0.1\nlistening-ip=10.0.0.2\nuser=a:b',
      server: { listeningIps: ['10.0.0.1', '10.0.0.2'] },
    },
    {
      name: 'bare optional-value option',
      text: 'stale-nonce\nuser=a:b',
      server: { nonceLifetimeS: 600 },
    },
  ];
  for (const c of cases) {
    it(`parses ${c.name}`, () => {
      const parsed = parseTurnConfigFile(c.text, 'turnserver.conf');
      if (c.server) expect(parsed.server).toMatchObject(c.server);
      if (c.cli) expect(parsed.cli).toMatchObject(c.cli);
    });
  }

  const errors: { text: string; message: string }[] = [
    {
      text: '# ok\nlistening-port=abc',
      message: "turnserver.conf:2: listening-port: expected an integer 0-65535, got 'abc'",
    },
    {
      text: '\n\nmobility',
      message: 'turnserver.conf:3: option mobility (coturn) is not supported',
    },
    {
      text: 'psql-userdb="host=db"',
      message: 'turnserver.conf:1: option psql-userdb (coturn) is not supported',
    },
    { text: 'listen-port=3478', message: 'turnserver.conf:1: unknown option listen-port' },
    {
      text: 'config=other.conf',
      message: 'turnserver.conf:1: config is only valid on the command line',
    },
    { text: 'realm', message: 'turnserver.conf:1: realm: missing value <realm>' },
    { text: 'user=alice', message: "turnserver.conf:1: user: expected name:password, got no ':'" },
    { text: 'no-udp=perhaps', message: 'turnserver.conf:1: no-udp: expected a boolean' },
    {
      text: 'use-auth-secret',
      message: 'turnserver.conf: --use-auth-secret needs the shared secret',
    },
  ];
  for (const c of errors) {
    it(`refuses ${JSON.stringify(c.text)} naming file:line`, () => {
      expect(() => parseTurnConfigFile(c.text, 'turnserver.conf')).toThrow(c.message);
    });
  }

  it('warns about a line ending in a semicolon, as coturn does', () => {
    const parsed = parseTurnConfigFile('user=a:b;', 't.conf');
    expect(parsed.warnings).toEqual(["t.conf:1: line ends with ';', which is part of the value"]);
    expect(parsed.server.auth.users).toEqual({ a: 'b;' });
  });

  const modes: { mode: number | undefined; text: string; warns: boolean }[] = [
    { mode: 0o644, text: 'user=a:b', warns: true },
    { mode: 0o604, text: 'static-auth-secret=s\nuse-auth-secret', warns: true },
    { mode: 0o100644, text: 'user=a:b', warns: true },
    { mode: 0o640, text: 'user=a:b', warns: false },
    { mode: 0o600, text: 'user=a:b', warns: false },
    { mode: 0o644, text: 'no-auth', warns: false },
    { mode: undefined, text: 'user=a:b', warns: false },
  ];
  for (const c of modes) {
    it(`${c.warns ? 'warns' : 'does not warn'} for mode ${c.mode?.toString(8) ?? 'unknown'} with ${c.text.split('=')[0]}`, () => {
      const warnings = parseTurnConfigFile(c.text, '/etc/turnserver.conf', c.mode).warnings;
      expect(warnings.some((w) => w.includes('is readable by every user'))).toBe(c.warns);
    });
  }

  it('says which secrets a world-readable file holds and how to fix it', () => {
    const text = 'user=a:b\nstatic-auth-secret=s\nuse-auth-secret';
    expect(parseTurnConfigFile(text, '/etc/turnserver.conf', 0o100644).warnings).toContain(
      '/etc/turnserver.conf is readable by every user (mode 644) and holds secrets (user, static-auth-secret); run chmod 600 /etc/turnserver.conf',
    );
  });
});

describe('loadTurnConfig: file first, then the command line', () => {
  const file = [
    'listening-port=3478',
    'listening-ip=10.0.0.1',
    'realm=file.example',
    'user=alice:from-file',
    'static-auth-secret=old',
    'use-auth-secret',
    'denied-peer-ip=8.8.8.0/24',
    'no-udp',
  ].join('\n');
  const files: Record<string, TurnConfigSource> = {
    '/etc/turnserver.conf': { text: file, mode: 0o600 },
  };
  const read = (path: string): TurnConfigSource => {
    const source = files[path];
    if (source === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return source;
  };

  it('lets the command line override single values and extend repeatable ones', () => {
    const loaded = loadTurnConfig(
      [
        '--listening-port=3479',
        '-c',
        '/etc/turnserver.conf',
        '-L',
        '10.0.0.2',
        '-u',
        'bob:b',
        '--static-auth-secret=new',
        '--realm=cli.example',
        '--no-udp=false',
        '--denied-peer-ip=1.1.1.1',
      ],
      read,
    );
    expect(loaded.server).toMatchObject({
      listeningPort: 3479,
      listeningIps: ['10.0.0.1', '10.0.0.2'],
      realm: 'cli.example',
      noUdp: false,
      auth: { users: { alice: 'from-file', bob: 'b' }, staticAuthSecrets: ['old', 'new'] },
      peerPolicy: { deniedPeerIps: ['8.8.8.0/24', '1.1.1.1'] },
    });
    expect(loaded.cli.configFile).toBe('/etc/turnserver.conf');
  });

  it('reads no file without -c, and none with -n', () => {
    const reads: string[] = [];
    const spy = (path: string): TurnConfigSource => {
      reads.push(path);
      return read(path);
    };
    expect(loadTurnConfig(SECRET, spy).server.listeningPort).toBeUndefined();
    const loaded = loadTurnConfig(['-n', '-c', '/etc/turnserver.conf', ...SECRET], spy);
    expect(reads).toEqual([]);
    expect(loaded.warnings).toContain(
      'config file /etc/turnserver.conf not read: -n (no config file) was given',
    );
  });

  it('accepts a reader returning only the text', () => {
    expect(loadTurnConfig(['-c', 'x.conf'], () => 'user=a:b').server.auth.users).toEqual({
      a: 'b',
    });
  });

  it('checks credentials across file and command line', () => {
    expect(() => loadTurnConfig(['-c', 'x.conf', '--lt-cred-mech'], () => 'realm=r')).toThrow(
      '--lt-cred-mech needs credentials',
    );
    expect(
      loadTurnConfig(['-c', 'x.conf', '--lt-cred-mech'], () => 'user=a:b').server.auth.users,
    ).toEqual({ a: 'b' });
  });

  it('passes the file warnings on', () => {
    const loaded = loadTurnConfig(['-c', 'w.conf'], () => ({ text: 'user=a:b', mode: 0o644 }));
    expect(loaded.warnings.join('\n')).toContain('w.conf is readable by every user (mode 644)');
  });

  it('names the file and the line of a bad option', () => {
    expect(() => loadTurnConfig(['-c', 'bad.conf'], () => 'realm=r\n\ncli-password=x')).toThrow(
      'bad.conf:3: option cli-password (coturn) is not supported',
    );
  });

  it('wraps a read failure, naming the file', () => {
    expect(() => loadTurnConfig(['-c', '/nope.conf'], read)).toThrow(
      "cloudproxy turn: cannot read config file /nope.conf: ENOENT: no such file or directory, open '/nope.conf'",
    );
    let error: unknown;
    try {
      loadTurnConfig(['--config=/nope.conf'], read);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'ERR_CLI_TURN_CONFIG', name: 'TurnConfigError' });
    expect(error instanceof Error && error.cause instanceof Error).toBe(true);
  });

  it('refuses command-line errors before reading the file', () => {
    let read = false;
    expect(() =>
      loadTurnConfig(['-c', 'x.conf', '--bogus'], () => {
        read = true;
        return '';
      }),
    ).toThrow('unknown option --bogus');
    expect(read).toBe(false);
  });
});

describe('an example turnserver.conf with every option a file may hold', () => {
  const conf = `# every option of the table that a config file may hold
listening-ip=10.0.0.5
listening-ip=fd00::5
listening-port=3479
tls-listening-port=5350
no-udp=false
no-tcp=no
no-tls=off
no-dtls
proxy-protocol-from=10.0.0.0/24
relay-ip=10.0.0.5
relay-ip=fd00::5
external-ip=203.0.113.5/10.0.0.5
external-ip=2001:db8::5
min-port=50000
max-port=50999
relay-threads=8
data-plane=js
data-plane-threads=2
realm=turn.example.org
lt-cred-mech
user=alice:correct-horse
user="bob:battery staple"
use-auth-secret
static-auth-secret=new-secret
static-auth-secret=old-secret
no-auth=false
allowed-peer-ip=10.1.0.0/16
denied-peer-ip=198.18.0.0-198.19.255.255
denied-peer-ip=2001:db8::/32
allow-loopback-peers=false
no-multicast-peers
no-loopback-peers
user-quota=10
total-quota=1000
source-quota=100
permission-quota=500
channel-quota=400
max-bps=125000
cert=/etc/ssl/turn.pem
pkey=/etc/ssl/turn.key
no-tlsv1
no-tlsv1_1
stale-nonce=300
max-allocate-lifetime=1800
channel-lifetime=900
permission-lifetime=200
drain-timeout=5
fingerprint
software-attribute
no-software-attribute
no-cli
log-file=/var/log/turn.log
verbose
Verbose=false
prometheus
prometheus-port=9100
prometheus-address=0.0.0.0
pidfile=/run/turn.pid
`;

  const expected = {
    server: {
      realm: 'turn.example.org',
      auth: {
        users: { alice: 'correct-horse', bob: 'battery staple' },
        staticAuthSecrets: ['new-secret', 'old-secret'],
        noAuth: undefined,
      },
      software: false,
      nonceLifetimeS: 300,
      maxLifetimeS: 1800,
      permissionLifetimeS: 200,
      drainTimeoutS: 5,
      channelLifetimeS: 900,
      userQuota: 10,
      totalQuota: 1000,
      sourceQuota: 100,
      permissionQuota: 500,
      channelQuota: 400,
      maxBps: 125000,
      dataPlane: 'js',
      dataPlaneThreads: 2,
      peerPolicy: {
        allowLoopbackPeers: false,
        allowedPeerIps: ['10.1.0.0/16'],
        deniedPeerIps: ['198.18.0.0-198.19.255.255', '2001:db8::/32'],
      },
      listeningIps: ['10.0.0.5', 'fd00::5'],
      listeningPort: 3479,
      tlsListeningPort: 5350,
      relayAddresses: [
        { relayIp: '10.0.0.5', externalIp: '203.0.113.5' },
        { relayIp: 'fd00::5', externalIp: '2001:db8::5' },
      ],
      minPort: 50000,
      maxPort: 50999,
      certFile: '/etc/ssl/turn.pem',
      keyFile: '/etc/ssl/turn.key',
      noUdp: false,
      noTcp: false,
      noTls: false,
      proxyProtocolFrom: ['10.0.0.0/24'],
    },
    cli: {
      configFile: undefined,
      logFile: '/var/log/turn.log',
      verbose: false,
      extraVerbose: false,
      prometheus: { enabled: true, port: 9100, address: '0.0.0.0' },
      pidfile: '/run/turn.pid',
      help: false,
    },
  };

  it('covers every option that is not command-line only', () => {
    const keys = new Set(conf.split('\n').map((line) => /^[^#\s=]+/.exec(line)?.[0]));
    for (const spec of TURN_OPTIONS.filter((s) => s.argvOnly !== true)) {
      expect(keys.has(spec.name), spec.name).toBe(true);
    }
  });

  it('parses into the expected server and CLI options', () => {
    const parsed = parseTurnConfigFile(conf, 'turnserver.conf', 0o600);
    expect(parsed.server).toStrictEqual(expected.server);
    expect(parsed.cli).toStrictEqual(expected.cli);
    expect(parsed.warnings).toEqual([
      '--relay-threads 8 is ignored: cloudproxy sizes its relay workers itself',
      '--user and --static-auth-secret together: coturn would accept only TURN REST credentials (the secret overrides the users); cloudproxy accepts both',
    ]);
  });

  it('means the same on the command line, line by line', () => {
    const argv = conf
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => `--${line.replace(/"/g, '')}`);
    const fromArgs = parseTurnArgs(argv);
    expect(fromArgs.server).toStrictEqual(expected.server);
    expect(fromArgs.cli).toStrictEqual(expected.cli);
  });

  it('is what loadTurnConfig reads with -c, recording the file', () => {
    const loaded = loadTurnConfig(['-c', '/etc/turnserver.conf'], () => conf);
    expect(loaded.server).toStrictEqual(expected.server);
    expect(loaded.cli).toStrictEqual({ ...expected.cli, configFile: '/etc/turnserver.conf' });
  });
});
