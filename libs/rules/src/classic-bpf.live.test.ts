// Live semantics (vlanInMetadata: true) in a real kernel: a veth pair with one
// end in the root namespace (unique name, IPv6 off, no address) and the
// other in a namespace of our own, from which python3 sends frames with a
// raw AF_PACKET socket. The kernel moves the outermost 802.1Q/802.1ad tag of
// each received frame into skb metadata; every compiled program is attached
// (setRingFilter) to an AF_PACKET ring on the root end, and exactly the
// frames whose first matching rule (RuleMatcher over the bytes sent) `select`
// picks must arrive, each once, byte for byte once its tag is put back.
// Needs root, ip and python3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeRing,
  frameBytes,
  nextBlock,
  openPacketRing,
  releaseBlock,
  setRingFilter,
  walkBlock,
  type PacketRing,
} from '@netmirror/native';
import { VethLab } from '@netmirror/native/testing';
import {
  batchOf,
  firstMatches,
  handcraftedFrames,
  mutations,
  randomRuleCases,
  RULE_CASES,
  ruleSetOf,
  selectorsFor,
  truncations,
  type RuleCase,
} from './classic-bpf.fixtures.js';
import { compileRulesBpf } from './classic-bpf.js';

const lab = new VethLab('cb');
const SNAP = 65535;
const RETIRE_MS = 20;
const GROUP = 16;

/**
 * Frames the kernel hands to a packet socket unchanged but for the tag:
 * at least an Ethernet header; an outer 802.1Q/802.1ad tag is only taken
 * out (and the frame only delivered) with 6 bytes after it (skb_vlan_untag);
 * no more than the veth's MTU.
 */
function deliverable(f: Buffer): boolean {
  if (f.length < 14 || f.length > 1500) return false;
  const outer = f.readUInt16BE(12);
  return !((outer === 0x8100 || outer === 0x88a8) && f.length < 20);
}

/** Frame i with a source MAC that names it and a destination MAC whose last nibble varies. */
function numbered(bytes: Buffer, i: number): Buffer {
  const f = Buffer.from(bytes);
  f[5] = 0x10 | (i & 0x0f);
  f.set([0x02, 0x4e, 0x4d, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff], 6);
  return f;
}
const idOf = (f: Uint8Array): number =>
  f[6] === 0x02 && f[7] === 0x4e && f[8] === 0x4d ? (f[9] << 16) | (f[10] << 8) | f[11] : -1;

const hand = handcraftedFrames();
const frames: Buffer[] = [
  ...hand,
  ...truncations(hand).filter((f) => f.bytes.length >= 14),
  ...mutations(hand, 3000, 17),
]
  .map((f) => f.bytes)
  .filter(deliverable)
  .map((b, i) => numbered(b, i));
const batch = batchOf(frames);

interface Program {
  name: string;
  program: Buffer;
  /** Ids of the frames that must arrive. */
  expected: Set<number>;
}

function programsFor(c: RuleCase, allSelectors: boolean): Program[] {
  const ruleSet = ruleSetOf(c);
  const decisions = firstMatches(ruleSet, batch);
  const selectors = selectorsFor(ruleSet);
  return (allSelectors ? selectors : selectors.slice(0, 1)).map((s) => ({
    name: `${c.name} / ${s.name}`,
    program: compileRulesBpf(ruleSet.rules, s.select, { vlanInMetadata: true, snapLen: SNAP }),
    expected: new Set(
      decisions.flatMap((r, i) => (r !== null && s.select(r) ? [idOf(frames[i])] : [])),
    ),
  }));
}

interface Arrivals {
  ids: number[];
  strangers: number;
  tagged: number;
  altered: number[];
}

/** Blocks this thread for `ms` (the frames of a send are in flight, nothing to do but wait). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Reads what a ring holds once the send is over and its blocks retired:
 * every block there is, and more only while fewer than `want` frames came
 * (bounded: 5000 polls, and the deadline).
 */
function drain(ring: PacketRing, want: number, deadline: number): Arrivals {
  const out: Arrivals = { ids: [], strangers: 0, tagged: 0, altered: [] };
  for (let round = 0; round < 5000 && Date.now() < deadline; round++) {
    const block = nextBlock(ring, out.ids.length >= want ? 0 : 20);
    if (!block) {
      if (out.ids.length >= want) break;
      continue;
    }
    try {
      for (const f of walkBlock(block)) {
        const wire = frameBytes(block, f);
        const id = idOf(wire);
        if (id < 0 || id >= frames.length) {
          out.strangers++;
          continue;
        }
        out.ids.push(id);
        if (f.vlan) out.tagged++;
        if (!wire.equals(frames[id])) out.altered.push(id);
      }
    } finally {
      releaseBlock(ring);
    }
  }
  return out;
}

/** Sends every frame once from inside the namespace, then lets the rings retire their blocks. */
function sendAll(file: string): void {
  expect(lab.sendFile(file)).toBe(frames.length);
  sleep(RETIRE_MS * 10);
}

describe('compileRulesBpf: live semantics in the kernel (tags in skb metadata)', () => {
  let file = '';

  beforeAll(() => {
    lab.create();
    file = lab.framesFile(frames);
  }, 30_000);

  afterAll(() => lab.remove());

  /** 2 MiB: room for every frame of a send, none lost before it is read. */
  const openRing = (): PacketRing =>
    openPacketRing(lab.hostIf, { blockSize: 1 << 18, blockCount: 8, timeoutMs: RETIRE_MS });

  /** Attaches up to GROUP programs to rings of their own, sends every frame once, and reads each ring. */
  function runGroup(programs: Program[]): void {
    const rings: PacketRing[] = [];
    try {
      for (const p of programs) {
        rings.push(openRing());
        setRingFilter(rings[rings.length - 1], p.program);
      }
      sendAll(file);
      const deadline = Date.now() + 15_000;
      programs.forEach((p, i) => {
        const got = drain(rings[i], p.expected.size, deadline);
        const ids = [...got.ids].sort((a, b) => a - b);
        const missing = [...p.expected].filter((id) => !got.ids.includes(id));
        const extra = [...new Set(got.ids)].filter((id) => !p.expected.has(id));
        const describe = (id: number): string =>
          `${id}: ${frames[id].subarray(0, 48).toString('hex')}`;
        expect(
          {
            strangers: got.strangers,
            altered: got.altered,
            missing: missing.slice(0, 5).map(describe),
            extra: extra.slice(0, 5).map(describe),
          },
          p.name,
        ).toEqual({ strangers: 0, altered: [], missing: [], extra: [] });
        expect(ids.length, `${p.name}: each frame once`).toBe(new Set(ids).size);
      });
    } finally {
      for (const r of rings) closeRing(r);
    }
  }

  function runAll(programs: Program[]): void {
    for (let at = 0; at < programs.length; at += GROUP) runGroup(programs.slice(at, at + GROUP));
  }

  it('sends frames with tags the kernel moves into metadata, and every kind of layer', () => {
    expect(frames.length).toBeGreaterThan(5000);
    const [all] = programsFor(
      { name: 'all', rules: [{ name: 'all', priority: 1, match: {} }] },
      false,
    );
    expect(all.expected.size).toBe(frames.length);
    const ring = openRing();
    try {
      setRingFilter(ring, all.program);
      sendAll(file);
      const got = drain(ring, frames.length, Date.now() + 15_000);
      expect(got.ids.length).toBe(frames.length);
      expect(got.altered).toEqual([]);
      const outerTagged = frames.filter((f) => [0x8100, 0x88a8].includes(f.readUInt16BE(12)));
      expect(got.tagged).toBe(outerTagged.length);
      expect(got.tagged).toBeGreaterThan(1000);
    } finally {
      closeRing(ring);
    }
  }, 60_000);

  it('each rule case: exactly the frames the matcher selects arrive', () => {
    const multi = (c: RuleCase): boolean => c.rules.length > 1;
    runAll(RULE_CASES.flatMap((c) => programsFor(c, multi(c))));
  }, 300_000);

  it('random rule sets', () => {
    runAll(randomRuleCases(40, 4242).flatMap((c) => programsFor(c, true)));
  }, 300_000);
});
