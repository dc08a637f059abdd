// A small assembler for classic BPF (struct sock_filter): instructions are
// emitted with symbolic labels, and `assemble` lays them out. Conditional
// jumps carry 8-bit forward offsets (jt/jf <= 255), so a conditional whose
// target is farther away gets `ja` trampolines (32-bit offsets) right after
// it. Jumps to jumps are threaded, jumps to the next instruction and
// unreachable instructions are dropped.
import type { BpfInsn } from '@netmirror/native';

/** Instruction classes, sizes, modes and operations (linux/filter.h, pcap/bpf.h). */
export const Op = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  K: 0x00,
  X: 0x08,
  A: 0x10,
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** BPF_MAXINSNS: the kernel refuses longer socket filters and cls_bpf programs. */
export const MAX_INSNS = 4096;
/** BPF_MEMWORDS: scratch memory M[0..15]. */
export const SCRATCH_WORDS = 16;
/** SKF_AD_OFF (-0x1000) as the unsigned k of an ancillary load. */
export const SKF_AD_OFF = 0xfffff000;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
export const SKF_AD_VLAN_TPID = 60;

export const bpfClass = (code: number): number => code & 0x07;
export const bpfSize = (code: number): number => code & 0x18;
export const bpfMode = (code: number): number => code & 0xe0;
export const bpfOp = (code: number): number => code & 0xf0;
export const bpfSrc = (code: number): number => code & 0x08;
/** Bytes a BPF_W/H/B load reads. */
export const loadWidth = (code: number): number =>
  bpfSize(code) === Op.B ? 1 : bpfSize(code) === Op.H ? 2 : 4;

/** A position in the program, placed once with `place`. */
export type Label = number;

type Item =
  | { kind: 'op'; code: number; k: number }
  | { kind: 'ja'; target: Label }
  | { kind: 'jc'; code: number; k: number; jt: Label; jf: Label }
  | { kind: 'label'; label: Label };

/** Flattened instruction: jump targets are instruction indexes. */
interface Flat {
  code: number;
  k: number;
  /** ja target, or conditional jt target (instruction index); -1 for other instructions. */
  t: number;
  /** conditional jf target; -1 otherwise. */
  f: number;
}

export class BpfBuilder {
  private readonly items: Item[] = [];
  private labels = 0;
  private instructions = 0;

  /** Instructions emitted so far (before layout). */
  get length(): number {
    return this.instructions;
  }

  label(): Label {
    return this.labels++;
  }

  place(label: Label): void {
    this.items.push({ kind: 'label', label });
  }

  /** Any instruction but a jump. */
  op(code: number, k = 0): void {
    if (bpfClass(code) === Op.JMP) throw new Error('bpf asm: use ja/jump for jumps');
    this.items.push({ kind: 'op', code, k: k >>> 0 });
    this.instructions++;
  }

  ja(target: Label): void {
    this.items.push({ kind: 'ja', target });
    this.instructions++;
  }

  /**
   * Conditional jump `code` (JEQ/JGT/JGE/JSET with BPF_K or BPF_X) against k;
   * a null target means the next instruction.
   */
  jump(code: number, k: number, jt: Label | null, jf: Label | null): void {
    let next: Label | null = null;
    const target = (l: Label | null): Label => {
      if (l !== null) return l;
      next ??= this.label();
      return next;
    };
    this.items.push({
      kind: 'jc',
      code: Op.JMP | code,
      k: k >>> 0,
      jt: target(jt),
      jf: target(jf),
    });
    this.instructions++;
    if (next !== null) this.place(next);
  }

  /** Lays the program out; every label must be placed before an instruction. */
  assemble(): BpfInsn[] {
    let flat = this.flatten();
    flat = simplify(flat);
    return layout(flat);
  }

  private flatten(): Flat[] {
    const at = new Map<Label, number>();
    let n = 0;
    for (const it of this.items) {
      if (it.kind === 'label') at.set(it.label, n);
      else n++;
    }
    const index = (l: Label): number => {
      const i = at.get(l);
      if (i === undefined) throw new Error(`bpf asm: label ${l} is never placed`);
      if (i >= n) throw new Error(`bpf asm: label ${l} is past the last instruction`);
      return i;
    };
    const out: Flat[] = [];
    for (const it of this.items) {
      if (it.kind === 'op') out.push({ code: it.code, k: it.k, t: -1, f: -1 });
      else if (it.kind === 'ja')
        out.push({ code: Op.JMP | Op.JA, k: 0, t: index(it.target), f: -1 });
      else if (it.kind === 'jc')
        out.push({ code: it.code, k: it.k, t: index(it.jt), f: index(it.jf) });
    }
    out.forEach((insn, i) => {
      if ((insn.t >= 0 && insn.t <= i) || (insn.f >= 0 && insn.f <= i))
        throw new Error(`bpf asm: instruction ${i} jumps backwards`);
    });
    if (out.length === 0 || bpfClass(out[out.length - 1].code) !== Op.RET)
      throw new Error('bpf asm: the program must end with ret');
    return out;
  }
}

const isJa = (i: Flat): boolean => i.code === (Op.JMP | Op.JA);
const isCond = (i: Flat): boolean => bpfClass(i.code) === Op.JMP && !isJa(i);

/** Threads jumps to `ja`, then drops `ja` to the next instruction and unreachable code. */
function simplify(prog: Flat[]): Flat[] {
  const n = prog.length;
  // Final destination of a jump to i, through chains of ja (all forward, so it ends).
  const dest = new Int32Array(n);
  for (let i = n - 1; i >= 0; i--) dest[i] = isJa(prog[i]) ? dest[prog[i].t] : i;
  const threaded = prog.map((insn): Flat => {
    if (insn.t < 0) return insn;
    const t = dest[insn.t];
    const f = insn.f < 0 ? -1 : dest[insn.f];
    // A conditional whose targets agree is a ja.
    if (isCond(insn) && t === f) return { code: Op.JMP | Op.JA, k: 0, t, f: -1 };
    return { ...insn, t, f };
  });
  // Reachability (forward jumps only: one pass in order).
  const live = new Uint8Array(n);
  live[0] = 1;
  for (let i = 0; i < n; i++) {
    if (!live[i]) continue;
    const insn = threaded[i];
    if (bpfClass(insn.code) === Op.RET) continue;
    if (isJa(insn)) live[insn.t] = 1;
    else if (isCond(insn)) {
      live[insn.t] = 1;
      live[insn.f] = 1;
    } else live[i + 1] = 1;
  }
  // A reachable ja to the next reachable instruction is dropped as well.
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!live[i]) continue;
    const insn = threaded[i];
    if (isJa(insn)) {
      let j = i + 1;
      while (j < insn.t && !live[j]) j++;
      if (j === insn.t) continue;
    }
    keep[i] = 1;
  }
  // An instruction that is dropped maps to the next kept one.
  const map = new Int32Array(n + 1);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    map[i] = kept;
    if (keep[i]) kept++;
  }
  map[n] = kept;
  const out: Flat[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    const insn = threaded[i];
    out.push({
      code: insn.code,
      k: insn.k,
      t: insn.t < 0 ? -1 : map[insn.t],
      f: insn.f < 0 ? -1 : map[insn.f],
    });
  }
  return out;
}

/**
 * Positions every instruction; a conditional with a side out of 8-bit reach
 * gets a `ja` slot after it for that side. Growing a slot only lengthens
 * other jumps, so the loop reaches a fixed point.
 */
function layout(prog: Flat[]): BpfInsn[] {
  const n = prog.length;
  const farT = new Uint8Array(n);
  const farF = new Uint8Array(n);
  const pos = new Int32Array(n + 1);
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0, p = 0; i <= n; i++) {
      pos[i] = p;
      if (i < n) p += 1 + farT[i] + farF[i];
    }
    for (let i = 0; i < n; i++) {
      const insn = prog[i];
      if (!isCond(insn)) continue;
      const from = pos[i] + 1;
      if (!farT[i] && pos[insn.t] - from > 255) {
        farT[i] = 1;
        changed = true;
      }
      if (!farF[i] && pos[insn.f] - from > 255) {
        farF[i] = 1;
        changed = true;
      }
    }
  }
  const out: BpfInsn[] = [];
  for (let i = 0; i < n; i++) {
    const insn = prog[i];
    const from = pos[i] + 1;
    if (isJa(insn)) {
      out.push({ code: insn.code, jt: 0, jf: 0, k: pos[insn.t] - from });
    } else if (isCond(insn)) {
      const slotT = from;
      const slotF = from + farT[i];
      out.push({
        code: insn.code,
        jt: farT[i] ? slotT - from : pos[insn.t] - from,
        jf: farF[i] ? slotF - from : pos[insn.f] - from,
        k: insn.k,
      });
      if (farT[i]) out.push({ code: Op.JMP | Op.JA, jt: 0, jf: 0, k: pos[insn.t] - (slotT + 1) });
      if (farF[i]) out.push({ code: Op.JMP | Op.JA, jt: 0, jf: 0, k: pos[insn.f] - (slotF + 1) });
    } else {
      out.push({ code: insn.code, jt: 0, jf: 0, k: insn.k });
    }
  }
  return out;
}
