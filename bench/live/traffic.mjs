// Traffic for bench/live: a generated trafgen configuration and one bounded
// trafgen run (-n COUNT under `timeout`) out of the sender namespace.
import { writeFileSync } from 'node:fs';
import { runAsync } from './proc.mjs';

/**
 * Frame lengths as captured (no FCS; on the wire each is 4 bytes longer).
 * `64`: minimum-size frames. `mix`: the classic simple IMIX, 7:4:1 of
 * 64/594/1518-byte frames on the wire (average 357 bytes captured), spread
 * through the cycle trafgen sends round robin.
 */
export const PROFILES = {
  64: [60],
  mix: [60, 590, 60, 60, 590, 60, 1514, 60, 590, 60, 60, 590],
};

/**
 * One trafgen packet: Ethernet to 02:00:00:00:00:01 (a MAC nobody owns:
 * every receiver sees it, no stack answers), IPv4 10.1.0.1 → 10.2.0.1, UDP
 * to port 9 (discard) from 256 source ports (the low byte counts up per
 * frame, so VXLAN copies spread over source ports as real flows do), UDP
 * checksum 0, zero payload.
 */
function packet(len) {
  if (len < 60 || len > 1514) throw new Error(`frame length ${len} outside 60..1514`);
  const ipLen = len - 14;
  return [
    '{',
    '  /* eth */ 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  c16(0x0800),',
    `  /* ipv4 */ 0x45, 0x00, c16(${ipLen}), c16(0), c16(0x4000), 64, 17, csumip(14, 33),`,
    '  10, 1, 0, 1,  10, 2, 0, 1,',
    `  /* udp */ 0x10, dinc(0, 255, 1), c16(9), c16(${ipLen - 20}), c16(0),`,
    `  fill(0x00, ${len - 42})`,
    '}',
  ].join('\n');
}

/** Writes the trafgen configuration of a profile; returns its average frame length. */
export function writeTrafgenConfig(path, profile) {
  const lengths = PROFILES[profile];
  if (!lengths) throw new Error(`unknown size profile ${profile}; use 64 or mix`);
  const header = `/* bench/live: profile ${profile}, frame lengths (no FCS) ${lengths.join(' ')} */`;
  writeFileSync(path, [header, ...lengths.map(packet)].join('\n') + '\n');
  return lengths.reduce((a, b) => a + b, 0) / lengths.length;
}

/**
 * Sends `count` frames out of snd0 in namespace `ns` with trafgen's TX
 * ring: one sending process (-P 1) pinned to CPU `cpu`, qdisc bypassed, socket memory
 * and IRQ affinity left alone (-A is spelled --no-sock-mem in 0.6.8), the
 * whole run bounded by `timeout` (a stuck link would otherwise spin
 * forever). Returns frames sent and the seconds trafgen spent sending them.
 */
export async function runTrafgen(ns, config, count, limitSec, cpu = 0) {
  const r = await runAsync('ip', [
    'netns',
    'exec',
    ns,
    'taskset',
    '-c',
    String(cpu),
    'timeout',
    '-s',
    'INT',
    '-k',
    '5',
    String(limitSec),
    'trafgen',
    '--no-sock-mem',
    '-Q',
    '-P',
    '1',
    '-o',
    'snd0',
    '-i',
    config,
    '-n',
    String(count),
  ]);
  const sent = /(\d+)\s+packets outgoing/.exec(r.out);
  const time = [...r.out.matchAll(/(\d+) sec, (\d+) usec on CPU\d+/g)];
  if (!sent || time.length === 0)
    throw new Error(`trafgen: no statistics (exit ${r.code}): ${r.out}`);
  const seconds = Math.max(...time.map((m) => Number(m[1]) + Number(m[2]) / 1e6));
  return { sent: Number(sent[1]), seconds, timedOut: r.code === 124 || Number(sent[1]) < count };
}
