/**
 * Running the built `netmirror` CLI and the third-party oracles (tcpdump,
 * tshark, capinfos) as child processes, every wait bounded by a timeout.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MirrorSummary } from '@netmirror/agent';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The built CLI (run `npx tsc -b tsconfig.json` first). */
export const NETMIRROR = join(ROOT, 'apps/agent/bin/netmirror.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes. */
  out: Buffer;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Prefix the command with `ip netns exec NS`. */
  netns?: string;
}

/** Runs a command to completion (killed with SIGKILL after the timeout, which then rejects). */
export function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const [file, argv] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, cmd, ...args]]
    : [cmd, [...args]];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${cmd} ${args.join(' ')}: no exit after ${timeoutMs} ms\n${Buffer.concat(err).toString()}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolvePromise({
        code,
        signal,
        stdout: stdout.toString(),
        stderr: Buffer.concat(err).toString(),
        out: stdout,
      });
    });
  });
}

/** The --stats-json summary: the agent's own type, so the tests read what it writes. */
export type Summary = MirrorSummary;

export interface MirrorResult extends RunResult {
  /** The --stats-json summary, or null when the run wrote none. */
  summary: Summary | null;
}

/**
 * `netmirror mirror ARGS --stats-json STATS --quiet`. `stats` is where the
 * summary goes (read back into `summary`).
 */
export async function mirror(
  args: readonly string[],
  stats: string,
  options: RunOptions = {},
): Promise<MirrorResult> {
  const r = await run(
    'node',
    [NETMIRROR, 'mirror', ...args, '--stats-json', stats, '--quiet'],
    options,
  );
  const summary = existsSync(stats) ? (JSON.parse(readFileSync(stats, 'utf8')) as Summary) : null;
  return { ...r, summary };
}

/** `tcpdump -n --time-stamp-precision=nano -r IN -w OUT EXPR`; rejects on a non-zero exit unless `allowFail`. */
export async function tcpdumpFilter(
  input: string,
  output: string,
  expr: string,
  allowFail = false,
): Promise<RunResult> {
  const args = ['-n', '--time-stamp-precision=nano', '-r', input, '-w', output];
  if (expr !== '') args.push(expr);
  const r = await run('tcpdump', args);
  if (r.code !== 0 && !allowFail)
    throw new Error(`tcpdump ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** tshark without reassembly (so a field means one frame's own headers), fields tab-separated. */
export async function tsharkFields(
  input: string,
  fields: readonly string[],
  displayFilter?: string,
  extra: readonly string[] = [],
): Promise<string[][]> {
  const args = [
    '-n',
    '-r',
    input,
    ...TSHARK_NO_REASSEMBLY,
    ...extra,
    '-T',
    'fields',
    '-E',
    'separator=/t',
  ];
  for (const f of fields) args.push('-e', f);
  if (displayFilter !== undefined) args.push('-Y', displayFilter);
  const r = await run('tshark', args, { timeoutMs: 90_000 });
  if (r.code !== 0) throw new Error(`tshark ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** Preferences that keep tshark from merging fragments and segments into later frames. */
export const TSHARK_NO_REASSEMBLY = [
  '-o',
  'ip.defragment:FALSE',
  '-o',
  'ipv6.defragment:FALSE',
  '-o',
  'tcp.desegment_tcp_streams:FALSE',
];

/** Frame numbers (1-based) that a tshark display filter selects. */
export async function tsharkFrameNumbers(input: string, displayFilter: string): Promise<number[]> {
  return (await tsharkFields(input, ['frame.number'], displayFilter)).map((r) => Number(r[0]));
}

/** `capinfos -M FLAGS FILE` as a map of "Label" -> value. */
export async function capinfos(
  file: string,
  flags: readonly string[],
): Promise<Map<string, string>> {
  const r = await run('capinfos', ['-M', ...flags, file]);
  if (r.code !== 0) throw new Error(`capinfos ${file} exited ${r.code}: ${r.stderr}`);
  const m = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** Waits until `child` writes `pattern` on stderr (rejects on timeout or exit). */
export function waitForStderr(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} on stderr after ${timeoutMs} ms: ${seen}`));
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      seen += b.toString();
      if (pattern.test(seen)) {
        cleanup();
        resolvePromise();
      }
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`exited before ${pattern}: ${seen}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

/** Resolves when `child` exits, SIGKILLing it after `timeoutMs`. */
export function waitForExit(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
  });
}

/** A `netmirror mirror` running in the background (live sources run until stopped). */
export interface MirrorProcess {
  child: ChildProcess;
  stderr(): string;
  /** SIGINT, then the exit code once it has written its summary (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
}

/** Starts `netmirror mirror --quiet ARGS`. */
export function startMirror(args: readonly string[]): MirrorProcess {
  const child = spawn('node', [NETMIRROR, 'mirror', '--quiet', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return {
    child,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGINT');
      return waitForExit(child, 15_000);
    },
  };
}
