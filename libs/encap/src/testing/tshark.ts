/**
 * Test-only: runs tshark on frames we built and returns what it decoded, so
 * tests check our encapsulations against Wireshark's dissectors.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapFile } from './pcap.js';

export interface TsharkRow {
  /** Field name -> occurrences in the frame (outer first). */
  readonly fields: ReadonlyMap<string, readonly string[]>;
  /** Offsets of every `eth` layer tshark found, outer first (from PDML). */
  readonly ethOffsets: readonly number[];
  /** True when tshark flagged the frame malformed. */
  readonly malformed: boolean;
}

/** Writes `frames` to a pcap in a fresh temp dir, runs tshark twice (fields, PDML), removes the dir. */
export function tshark(
  frames: readonly Buffer[],
  fields: readonly string[],
  extraArgs: readonly string[] = [],
): TsharkRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'encap-tshark-'));
  try {
    const file = join(dir, 'frames.pcap');
    writeFileSync(file, pcapFile(frames));
    const common = [
      '-n',
      '-r',
      file,
      '-o',
      'ip.check_checksum:TRUE',
      '-o',
      'udp.check_checksum:TRUE',
      ...extraArgs,
    ];
    const all = ['frame.protocols', ...fields];
    const text = execFileSync(
      'tshark',
      [
        ...common,
        '-T',
        'fields',
        '-E',
        'separator=/t',
        '-E',
        'occurrence=a',
        '-E',
        'aggregator=|',
        ...all.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pdml = execFileSync('tshark', [...common, '-T', 'pdml'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const packets = pdml.split('<packet>').slice(1);
    const lines = text.split('\n').filter((l) => l.length > 0);
    if (lines.length !== frames.length || packets.length !== frames.length) {
      throw new Error(
        `tshark decoded ${lines.length}/${packets.length} frames of ${frames.length}`,
      );
    }
    return lines.map((line, i) => {
      const cols = line.split('\t');
      const map = new Map<string, string[]>();
      all.forEach((f, j) => map.set(f, cols[j] ? cols[j].split('|') : []));
      const pkt = packets[i];
      const ethOffsets = [...pkt.matchAll(/<proto name="eth" [^>]*pos="(\d+)"/g)].map((m) =>
        Number(m[1]),
      );
      return { fields: map, ethOffsets, malformed: pkt.includes('name="_ws.malformed"') };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One field's occurrences, or [] when absent. */
export function field(row: TsharkRow, name: string): readonly string[] {
  return row.fields.get(name) ?? [];
}
