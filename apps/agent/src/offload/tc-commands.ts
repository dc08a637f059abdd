import { bpfToDdd } from '@netmirror/native';
import { execFile } from 'node:child_process';

/** Runs `tc` or `ip` with a time limit; rejects with the tool's own message. */
export function runTool(tool: 'tc' | 'ip', args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: 10_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim().split('\n')[0] || err.message;
        reject(new Error(`${tool} ${args.join(' ')}: ${why}`, { cause: err }));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** One action of a tc filter as `tc -j -s filter show` lists it. */
export interface TcAction {
  kind: string;
  cookie?: string;
  to_dev?: string;
  stats?: { packets: number; bytes: number; drops: number; overlimits: number };
}

/** A tc filter (one row of `tc -j -s filter show` that has options). */
export interface TcFilter {
  pref: number;
  chain: number;
  handle: string;
  actions: TcAction[];
}

export type Hook = 'ingress' | 'egress';

/** The filters on one clsact hook of `dev`, with their action counters. */
export async function listFilters(dev: string, hook: Hook): Promise<TcFilter[]> {
  const out = await runTool('tc', ['-j', '-s', 'filter', 'show', 'dev', dev, hook]);
  if (out.trim() === '') return [];
  const rows = JSON.parse(out) as {
    pref: number;
    chain?: number;
    options?: { handle?: string; actions?: TcAction[] };
  }[];
  return rows
    .filter((r) => r.options?.handle !== undefined)
    .map((r) => ({
      pref: r.pref,
      chain: r.chain ?? 0,
      handle: r.options!.handle!,
      actions: r.options!.actions ?? [],
    }));
}

/** True when `dev` has a clsact qdisc. */
export async function hasClsact(dev: string): Promise<boolean> {
  const out = await runTool('tc', ['-j', 'qdisc', 'show', 'dev', dev]);
  return (JSON.parse(out || '[]') as { kind: string }[]).some((q) => q.kind === 'clsact');
}

/** Links whose alias is exactly `alias`. */
export async function linksWithAlias(alias: string): Promise<string[]> {
  const out = await runTool('ip', ['-j', 'link', 'show']);
  return (JSON.parse(out || '[]') as { ifname: string; ifalias?: string }[])
    .filter((l) => l.ifalias === alias)
    .map((l) => l.ifname);
}

/** `struct sock_filter` bytes as tc's `bytecode` argument ("N,code jt jf k,..."): `tcpdump -ddd`'s lines joined. */
export function tcBytecode(program: Uint8Array): string {
  return bpfToDdd(program).trimEnd().split('\n').join(',');
}
