// Two classic BPF programs as one that accepts what both accept: the first
// program's accepting `ret #k` instructions become jumps to the second (`ja`
// has a 32-bit offset, and one instruction replaces one, so no other jump
// moves); the second runs from a clean A and X. A frame the first program
// rejects, or on which it stops (a load past the end), is rejected, as
// either program alone would have it. (An "or" built the same way would not
// be exact: a stop in the first program would skip the second.)
import { decodeBpf, encodeBpf } from '@netmirror/native';
import type { BpfInsn } from '@netmirror/native';
import { MAX_INSNS, Op } from './classic-bpf-asm.js';

const RET_K = Op.RET | Op.K;

/** Accepts a frame when `a` and `b` both do (with `b`'s snap length). */
export function bpfAnd(a: Uint8Array, b: Uint8Array): Buffer {
  const first = decodeBpf(a);
  const second = decodeBpf(b);
  const reset: BpfInsn[] = [
    { code: Op.LD | Op.W | Op.IMM, jt: 0, jf: 0, k: 0 },
    { code: Op.LDX | Op.W | Op.IMM, jt: 0, jf: 0, k: 0 },
  ];
  const total = first.length + reset.length + second.length;
  if (total > MAX_INSNS)
    throw new Error(
      `combined BPF program of ${total} instructions is over the kernel's ${MAX_INSNS}`,
    );
  const out = first.map((insn, i): BpfInsn => {
    if ((insn.code & 0x07) === Op.RET && (insn.code & 0x18) !== Op.K)
      throw new Error('bpfAnd: a program that returns A or X cannot be combined');
    return insn.code === RET_K && insn.k !== 0
      ? { code: Op.JMP | Op.JA, jt: 0, jf: 0, k: first.length - i - 1 }
      : insn;
  });
  return encodeBpf([...out, ...reset, ...second]);
}
