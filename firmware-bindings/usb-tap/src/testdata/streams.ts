// Streams for the parser tests: deterministic bytes and genuine records.
import { encodeRecord } from '../record.js';
import { HEADER_LENGTH, RecordFlag } from '../protocol.js';

/** A deterministic byte generator (LCG), so fixtures never change by themselves. */
export function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A deterministic PRNG in [0, 1). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A genuine record of `port`/`seq` with a `length`-byte frame of seeded bytes. */
export function record(port: number, seq: number, length: number, origlen = length): Buffer {
  return encodeRecord(
    {
      flags: (seq === 0 ? RecordFlag.FIRST : 0) | RecordFlag.CLOCK_SYNCED,
      caplen: length,
      origlen,
      seq,
      sec: 1_767_225_600 + seq,
      nsec: (seq * 1000) % 1e9,
      drops: 0,
      port,
    },
    bytes(length, port * 1000 + seq),
  );
}

/** The same record with its header check left as is but `fix` applied to the header (then re-checked or not). */
export function tamper(rec: Buffer, fix: (header: Buffer) => void): Buffer {
  const out = Buffer.from(rec);
  fix(out.subarray(0, HEADER_LENGTH));
  return out;
}

/** Good records after the damage: port 9, sequence 100..104. */
export function goodTail(): Buffer {
  return Buffer.concat([60, 1514, 64, 9000, 61].map((len, i) => record(9, 100 + i, len)));
}
