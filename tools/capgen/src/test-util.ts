// Helpers for capgen's tests (not exported from index.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinkType } from '@netmirror/packet';
import { PcapWriter } from '@netmirror/pcap';

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export function withTmpDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'capgen-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a tool, returns stdout; throws with stderr on a non-zero exit. */
export function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, [...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
}

export const CHECKSUM_PREFS = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
];

/** Display filter for any bad checksum (status 0 = Bad). ICMP and ICMPv6 are always verified. */
export const BAD_CHECKSUM =
  'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || ' +
  'icmp.checksum.status == 0 || icmpv6.checksum.status == 0';

/** Counts frames of `file` matching a tshark display filter. */
export function tsharkCount(file: string, filter: string, extra: readonly string[] = []): number {
  const out = run('tshark', [
    '-n',
    '-r',
    file,
    ...extra,
    '-Y',
    filter,
    '-T',
    'fields',
    '-e',
    'frame.number',
  ]);
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

/** Writes frames to a nanosecond pcap. */
export function writeFrames(path: string, frames: readonly Uint8Array[]): void {
  const w = new PcapWriter(path, { linkType: LinkType.ETHERNET, nanosecond: true });
  frames.forEach((f, i) => w.writeFrame(f, 0, f.length, f.length, 1767225600, i * 1000));
  w.close();
}

/**
 * Frame counts of `file` for several display filters in one tshark pass
 * (`-z io,stat`); filters must not contain commas.
 */
export function tsharkCounts(
  file: string,
  filters: readonly string[],
  extra: readonly string[] = [],
): number[] {
  if (filters.some((f) => f.includes(','))) throw new Error('tsharkCounts: no commas in filters');
  const out = run('tshark', [
    '-n',
    '-r',
    file,
    ...extra,
    '-q',
    '-z',
    `io,stat,0,${filters.join(',')}`,
  ]);
  const row = out.split('\n').find((l) => l.includes('<>'));
  if (row === undefined) throw new Error(`tsharkCounts: no data row in\n${out}`);
  const cells = row
    .split('|')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  // cells: interval, then frames and bytes per filter
  return filters.map((_, i) => Number(cells[1 + i * 2]));
}
