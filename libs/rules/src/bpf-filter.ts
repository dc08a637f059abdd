import { bpfFilterBatch, compileBpf } from '@netmirror/native';
import type { FrameBatch } from '@netmirror/packet';

/**
 * A pcap-filter expression run over whole batches by libpcap's own BPF
 * interpreter: one native call per batch, a match bit per frame. Programs are
 * compiled per link type on first use, as tcpdump compiles for its input.
 */
export class BpfFilter {
  /** bits[i] is 1 when frame i of the last batch run matched. */
  readonly bits: Uint8Array;
  private readonly programs = new Map<number, Buffer>();
  private scratch: Uint8Array;

  constructor(
    readonly expression: string,
    capacity: number,
  ) {
    this.bits = new Uint8Array(capacity);
    this.scratch = new Uint8Array(capacity);
  }

  program(linkType: number): Buffer {
    let p = this.programs.get(linkType);
    if (!p) {
      p = compileOrRejectAll(this.expression, linkType);
      this.programs.set(linkType, p);
    }
    return p;
  }

  /**
   * Filters `batch`; `linkTypes[ifIndex]` gives each frame's link type.
   * Returns the number of matches.
   */
  run(batch: FrameBatch, linkTypes: ArrayLike<number>): number {
    const n = batch.count;
    const first = linkTypes[batch.ifIndex[0]] ?? 1;
    let mixed = false;
    for (let i = 1; i < n; i++) {
      if (linkTypes[batch.ifIndex[i]] !== first) {
        mixed = true;
        break;
      }
    }
    if (!mixed) {
      return bpfFilterBatch(
        this.program(first),
        batch.buf,
        batch.offset,
        batch.caplen,
        batch.wirelen,
        n,
        this.bits,
      );
    }
    // Frames of several link types in one batch (a multi-interface pcapng):
    // run each program over the batch and keep the bits of its own frames.
    this.bits.fill(0, 0, n);
    let matches = 0;
    for (const lt of new Set(Array.from({ length: n }, (_, i) => linkTypes[batch.ifIndex[i]]))) {
      bpfFilterBatch(
        this.program(lt),
        batch.buf,
        batch.offset,
        batch.caplen,
        batch.wirelen,
        n,
        this.scratch,
      );
      for (let i = 0; i < n; i++) {
        if (linkTypes[batch.ifIndex[i]] === lt && this.scratch[i] === 1) {
          this.bits[i] = 1;
          matches++;
        }
      }
    }
    return matches;
  }
}

/** "ret #0": what an expression that can never match this link type runs as. */
const REJECT_ALL = Buffer.from([0x06, 0, 0, 0, 0, 0, 0, 0]);

/**
 * libpcap refuses to compile an expression that rejects every frame of a link
 * type (`ip` on raw IPv6); tcpdump then exits. In a source with several link
 * types that is a legitimate "no match" for those interfaces.
 */
export function compileOrRejectAll(expression: string, linkType: number): Buffer {
  try {
    return compileBpf(expression, linkType);
  } catch (err) {
    if (/rejects all packets/.test((err as Error).message)) return REJECT_ALL;
    throw err;
  }
}
