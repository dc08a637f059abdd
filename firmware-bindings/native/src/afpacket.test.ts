// AF_PACKET TPACKET_V3 ring against real traffic: a veth pair with one end in
// the root namespace (unique name, IPv6 off, no address, so nothing but our
// probes crosses it) and the other in a namespace of its own, from which
// python3 sends sequence-numbered probe frames with a raw AF_PACKET socket.
// Untagged, 802.1Q, QinQ (802.1ad outer) and double-802.1Q probes go to a MAC
// nobody owns, so nothing replies. Needs root, ip and python3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileBpfLive } from './bpf.js';
import {
  BlockCursor,
  closeRing,
  FanoutMode,
  frameBytes,
  nextBlock,
  openPacketRing,
  pollRing,
  releaseBlock,
  setRingFilter,
  restoreVlanTag,
  stats,
  walkBlock,
  type PacketRing,
} from './afpacket.js';
import { probeKind, probeKit, VethLab } from './testing/index.js';

const lab = new VethLab('af');
const HOST_IF = lab.hostIf; // root namespace end; the other is in the lab's namespace
const N = 500;
const { probe, seqOf } = probeKit(0x4e4d4146, '02005e000a'); // "NMAF", to a MAC nobody owns

describe('AF_PACKET TPACKET_V3 ring', () => {
  beforeAll(() => {
    lab.create();
  }, 30_000);
  afterAll(() => lab.remove());

  it('receives every probe exactly once, byte for byte with VLAN tags put back, and counts no drops', () => {
    const probes = Array.from({ length: N }, (_, i) => probe(i));
    // 4 × 64 KiB: each batch of 100 probes (< 80 KiB) fits, and 5 batches
    // wrap the ring, so blocks (and their mapped addresses) are reused.
    const BATCH = 100;
    const ring: PacketRing = openPacketRing(HOST_IF, {
      blockSize: 1 << 16,
      blockCount: 4,
      timeoutMs: 20,
    });
    const seen = new Array<number>(N).fill(0);
    const strangers: string[] = [];
    let frames = 0;
    let tagged = 0;
    let blocks = 0;
    let lastSeq = -1;
    try {
      for (let first = 0; first < N; first += BATCH) {
        const batch = probes.slice(first, first + BATCH);
        expect(lab.send(batch)).toBe(batch.length);

        const deadline = Date.now() + 10_000;
        for (
          let round = 0;
          round < 1000 && frames < first + batch.length && Date.now() < deadline;
          round++
        ) {
          const block = nextBlock(ring, 100);
          if (!block) continue;
          blocks++;
          try {
            if (lastSeq >= 0) expect(block.seq).toBe(lastSeq + 1);
            lastSeq = block.seq;
            let inBlock = 0;
            for (const f of walkBlock(block)) {
              inBlock++;
              frames++;
              expect(f.caplen).toBe(f.len); // nothing cut
              expect(f.sec).toBeGreaterThan(0);
              if (f.vlan) tagged++;
              const wire = frameBytes(block, f);
              const seq = seqOf(wire);
              if (seq < 0 || seq >= N) {
                strangers.push(wire.subarray(0, 64).toString('hex'));
                continue;
              }
              seen[seq]++;
              // Exactly the bytes sent, and the kernel moved exactly the outer tag.
              expect(wire.equals(probes[seq]), `probe ${seq} (${probeKind(seq)})`).toBe(true);
              expect(f.vlan !== null, `probe ${seq} tag in metadata`).toBe(
                probeKind(seq) !== 'untagged',
              );
            }
            expect(inBlock).toBe(block.packets);
          } finally {
            releaseBlock(ring);
          }
          expect(block.view.length, 'a released block view is detached').toBe(0);
        }
      }
      expect(blocks).toBeGreaterThan(4); // the ring wrapped
      expect(strangers).toEqual([]);
      expect(seen.filter((c) => c !== 1).length, 'probes not seen exactly once').toBe(0);
      expect(frames).toBe(N);
      expect(tagged).toBe((N * 3) / 4);
      // Nothing more arrives (bounded wait of one retire period and some).
      const extra = nextBlock(ring, 200);
      if (extra) releaseBlock(ring);
      expect(extra).toBeNull();
      const st = stats(ring);
      expect(st).toEqual({ packets: N, drops: 0, freezeQueueCount: 0 });
    } finally {
      closeRing(ring);
    }
  }, 30_000);

  it('filters in the kernel (libpcap compiled for the live socket), wakes the event loop, and puts tags back in place', async () => {
    const probes = Array.from({ length: 40 }, (_, i) => probe(i));
    const ring = openPacketRing(HOST_IF, { blockSize: 1 << 16, blockCount: 4, timeoutMs: 20 });
    try {
      // The outer tag is in metadata on this socket: only a live compile finds it.
      setRingFilter(ring, compileBpfLive('vlan', HOST_IF));
      const woke = new Promise<number>((resolve) => pollRing(ring, () => resolve(Date.now())));
      const file = lab.framesFile(probes);
      const sentAt = Date.now();
      lab.sendFile(file);
      expect(await woke).toBeGreaterThanOrEqual(sentAt);
      const cursor = new BlockCursor();
      const got: number[] = [];
      const deadline = Date.now() + 5_000;
      while (got.length < 30 && Date.now() < deadline) {
        const block = nextBlock(ring, 50);
        if (!block) continue;
        try {
          cursor.reset(block);
          while (cursor.next()) {
            cursor.restoreVlanTag();
            const wire = block.view.subarray(cursor.offset, cursor.offset + cursor.caplen);
            const seq = seqOf(Buffer.from(wire));
            got.push(seq);
            expect(cursor.len).toBe(probes[seq].length);
            expect(Buffer.from(wire).equals(probes[seq]), `probe ${seq}`).toBe(true);
          }
        } finally {
          releaseBlock(ring);
        }
      }
      const tagged = probes.map((_, i) => i).filter((i) => probeKind(i) !== 'untagged');
      expect(got.sort((a, b) => a - b)).toEqual(tagged);
      // Replaced in one step: now nothing passes.
      setRingFilter(ring, Buffer.from([0x06, 0, 0, 0, 0, 0, 0, 0]));
      lab.sendFile(file);
      const none = nextBlock(ring, 100);
      if (none) releaseBlock(ring);
      expect(none).toBeNull();
      expect(() => compileBpfLive('vlan and', HOST_IF)).toThrow(/syntax error/);
    } finally {
      closeRing(ring);
    }
  }, 30_000);

  it('refuses misuse without touching the ring', () => {
    expect(() =>
      openPacketRing(`nope${lab.tag}`, { blockSize: 4096, blockCount: 2, timeoutMs: 10 }),
    ).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() =>
      openPacketRing(HOST_IF, { blockSize: 1000, blockCount: 2, timeoutMs: 10 }),
    ).toThrow(RangeError);
    const ring = openPacketRing(HOST_IF, { blockSize: 4096, blockCount: 2, timeoutMs: 10 });
    expect(() => releaseBlock(ring)).toThrow(/no block is held/);
    expect(nextBlock(ring, 0)).toBeNull();
    closeRing(ring);
    expect(() => closeRing(ring)).toThrow(TypeError);
    expect(() => nextBlock(ring, 0)).toThrow(TypeError);
    // Two rings join one fanout group (only the set-up is checked here).
    const group = 1 + (process.pid % 60000);
    const opts = {
      blockSize: 4096,
      blockCount: 2,
      timeoutMs: 10,
      fanout: { group, mode: FanoutMode.HASH },
    };
    const a = openPacketRing(HOST_IF, opts);
    try {
      const b = openPacketRing(HOST_IF, opts);
      closeRing(b);
    } finally {
      closeRing(a);
    }
  });

  it('restoreVlanTag inserts TPID and TCI after the MAC addresses', () => {
    const untagged = Buffer.from('ffffffffffff0200000000010800abcd', 'hex');
    expect(restoreVlanTag(untagged, 0x2064).toString('hex')).toBe(
      'ffffffffffff020000000001810020640800abcd',
    );
    expect(restoreVlanTag(untagged, 5, 0x88a8).toString('hex')).toBe(
      'ffffffffffff020000000001' + '88a80005' + '0800abcd',
    );
    expect(() => restoreVlanTag(Buffer.alloc(11), 1)).toThrow(RangeError);
  });
});
