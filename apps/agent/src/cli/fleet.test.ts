// The command line of `netmirror fleet`: parsing and usage errors (exit 2)
// before any request, and exit 1 when nothing listens. Against a real fleet
// manager: tests/fleet-cli.test.ts.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLEET_URL, parseFleetArgs, runFleet, type FleetIo } from './fleet.js';
import { UsageError } from './fleet-args.js';

function capture(env: Record<string, string> = {}): FleetIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
    env,
    now: () => new Date('2025-07-01T12:00:00.000Z'),
    sleep: () => Promise.resolve(),
  };
  return io;
}

function parsed(argv: string[], env: Record<string, string> = {}) {
  const p = parseFleetArgs(argv, env);
  if ('help' in p) throw new Error('unexpected help');
  return p;
}

describe('netmirror fleet arguments', () => {
  it('global options go before or after the command', () => {
    const a = parsed(['--url', 'http://fm:9000', '--actor', 'alice', 'devices', 'show', 'tap-01']);
    expect([a.name, a.args, a.url, a.actor, a.json]).toEqual([
      'devices show',
      ['tap-01'],
      'http://fm:9000',
      'alice',
      false,
    ]);
    const b = parsed([
      'devices',
      'list',
      '--label',
      'a=b',
      '--json',
      '--url=http://x',
      '--label',
      'c=d',
    ]);
    expect([b.name, b.url, b.json, b.values.label]).toEqual([
      'devices list',
      'http://x',
      true,
      ['a=b', 'c=d'],
    ]);
  });

  it('the URL: --url, else $NETMIRROR_FLEET_URL, else the local default', () => {
    expect(parsed(['health']).url).toBe(DEFAULT_FLEET_URL);
    expect(DEFAULT_FLEET_URL).toBe('http://127.0.0.1:8080');
    expect(parsed(['health'], { NETMIRROR_FLEET_URL: 'http://env:1' }).url).toBe('http://env:1');
    expect(
      parsed(['--url', 'http://flag:2', 'health'], { NETMIRROR_FLEET_URL: 'http://env:1' }).url,
    ).toBe('http://flag:2');
    expect(parsed(['health'], { NETMIRROR_FLEET_ACTOR: 'bob' }).actor).toBe('bob');
  });

  it('single-word and two-word commands, positional arguments counted', () => {
    expect(parsed(['deploy', 'core', '3']).args).toEqual(['core', '3']);
    expect(parsed(['rollouts', 'start', 'core', '3', '--waves', '50,100']).values.waves).toBe(
      '50,100',
    );
    expect(parsed(['telemetry', 'tap-01', '--since', '10m']).values.since).toBe('10m');
    expect(() => parsed(['devices', 'show'])).toThrow('devices show takes ID');
    expect(() => parsed(['devices', 'list', 'x'])).toThrow(
      'devices list takes no arguments (extra: x)',
    );
    expect(() => parsed(['deploy', 'core'])).toThrow('deploy takes NAME VERSION');
  });

  it('unknown commands and flags are usage errors naming them', () => {
    expect(() => parsed(['devices'])).toThrow(
      /devices: give one of list, show, set, remove, state/,
    );
    expect(() => parsed(['devices', 'frob'])).toThrow('unknown command "devices frob"');
    expect(() => parsed(['frob'])).toThrow('unknown command "frob"');
    expect(() => parsed(['devices', 'list', '--bogus'])).toThrow(UsageError);
    expect(() => parsed(['devices', 'list', '--bogus'])).toThrow(/--bogus/);
    expect(() => parsed(['--bogus', 'health'])).toThrow('unknown option --bogus');
    expect(() => parsed(['health', '--url'])).toThrow(UsageError);
    expect(() => parsed(['--url'])).toThrow('--url needs a value');
    expect(() => parsed(['--actor', 'not ok', 'health'])).toThrow(/--actor not ok/);
  });

  it('help: full usage, exit 0 when asked, 2 when no command', async () => {
    expect('help' in parseFleetArgs(['--help'], {})).toBe(true);
    expect('help' in parseFleetArgs(['policies', 'create', '--help'], {})).toBe(true);
    const io = capture();
    expect(await runFleet(['help'], io)).toBe(0);
    expect(io.stdout).toContain('rollouts watch ID [--timeout SECONDS]');
    expect(await runFleet([], capture())).toBe(2);
  });
});

describe('netmirror fleet exit codes without a server', () => {
  /** A loopback port with no listener. */
  async function closedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
  }

  it.each([
    [['devices', 'list', '--online', 'maybe'], '--online maybe: expected true or false'],
    [['devices', 'set', 'tap-01'], 'nothing to change'],
    [['devices', 'set', 'tap-01', '--label', 'a=1', '--unlabel', 'a'], 'pick one'],
    [['tokens', 'create', '--ttl', '10'], '--ttl 10: expected an integer between 60 and 2592000'],
    [['policies', 'create', 'p', '--file', 'x.yaml'], '--domain: give policy or retention'],
    [['policies', 'create', 'p', '--domain', 'policy'], '--file SPEC is required'],
    [['policies', 'push', 'p', '--file', '/nonexistent/spec.yaml'], 'ENOENT'],
    [['rollouts', 'start', 'p', '1', '--waves', '50,x'], '--waves 50,x'],
    [['telemetry', 'tap-01', '--since', 'yesterday'], '--since yesterday'],
    [['alerts', 'list', '--severity', 'loud'], '--severity loud'],
    [['--url', 'ftp://x', 'health'], 'must be http:// or https://'],
    [['deploy', 'p', 'latest'], 'VERSION latest'],
  ])('%j → exit 2: %s', async (argv, message) => {
    const io = capture({ NETMIRROR_FLEET_URL: `http://127.0.0.1:${await closedPort()}` });
    expect(await runFleet(argv, io)).toBe(2);
    expect(io.stderr).toContain(message);
    expect(io.stdout).toBe('');
  });

  it('nothing listening → exit 1, "cannot reach URL"', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const io = capture();
    expect(await runFleet(['--url', url, 'devices', 'list'], io)).toBe(1);
    expect(io.stderr).toBe(`netmirror fleet: cannot reach ${url} (ECONNREFUSED)\n`);
  });
});
