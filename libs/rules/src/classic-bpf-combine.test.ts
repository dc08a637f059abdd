import { bpfFilterBatch, compileBpf, validateBpf } from '@netmirror/native';
import { LinkType } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import { bpfAnd } from './classic-bpf-combine.js';
import { handcraftedFrames, mutations } from './classic-bpf.fixtures.js';

const frames = mutations(handcraftedFrames(), 3000, 7).map((f) => f.bytes);
const buf = Buffer.concat(frames);
const offsets = new Int32Array(frames.length);
const lens = new Int32Array(frames.map((f) => f.length));
for (let i = 1; i < frames.length; i++) offsets[i] = offsets[i - 1] + lens[i - 1];

/** Which frames `program` accepts. */
function accepted(program: Uint8Array): Uint8Array {
  const out = new Uint8Array(frames.length);
  bpfFilterBatch(program, buf, offsets, lens, lens, frames.length, out);
  return out;
}

const EXPRESSIONS = [
  'udp port 53',
  'vlan',
  'tcp and net 10.0.0.0/8',
  'ip6',
  'greater 200',
  'arp or icmp',
];

describe('bpfAnd', () => {
  for (const a of EXPRESSIONS)
    for (const b of EXPRESSIONS) {
      it(`(${a}) and (${b}) accepts exactly the frames both accept`, () => {
        const [pa, pb] = [a, b].map((e) => compileBpf(e, LinkType.ETHERNET));
        const and = bpfAnd(pa, pb);
        expect(validateBpf(and)).toBe(true);
        const [x, y] = [accepted(pa), accepted(pb)];
        expect(accepted(and)).toEqual(x.map((v, i) => v & y[i]));
      });
    }

  it('refuses a program that returns A, and a result over 4096 instructions', () => {
    const retA = Buffer.from([0x16, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => bpfAnd(retA, retA)).toThrow(/returns A/);
    const big = Buffer.concat(
      Array.from({ length: 2100 }, () => Buffer.from([0x06, 0, 0, 0, 1, 0, 0, 0])),
    );
    expect(() => bpfAnd(big, big)).toThrow(/4096/);
  });
});
