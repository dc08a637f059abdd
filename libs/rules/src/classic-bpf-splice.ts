// Splicing a compiled pcap-filter expression (libpcap's program, compiled for
// frames with their tags inline, as tcpdump -r compiles) into a rule
// program, so that it means inside the rule exactly what it means to the
// user-space matcher (libpcap's interpreter over the frame as it crossed the
// wire):
//
// - `ret #k` becomes a jump to the rule's match (k != 0) or no-match (k = 0)
//   continuation, `ret a`/`ret x` a test of the register;
// - a load past the end of the frame or a division by zero ends a libpcap
//   program with 0 (the expression is false), but would end the whole rule
//   program: each load is preceded by a length check and each division by X
//   by a zero check, which jump to no-match instead;
// - the expression's scratch words are moved to words the rule program
//   leaves free;
// - live (`vlanInMetadata`): when the kernel has taken the outermost tag out
//   of the frame into skb metadata, a second copy of the expression runs
//   over a *virtual* frame, the one on the wire: bytes 12-13 are the
//   metadata TPID (SKF_AD_VLAN_TPID), 14-15 the TCI (SKF_AD_VLAN_TAG), byte
//   i >= 16 is byte i - 4 of the frame, and `len` is 4 more. Loads at a
//   variable offset dispatch on the offset at run time.
import type { BpfInsn } from '@netmirror/native';
import type { BpfBuilder, Label } from './classic-bpf-asm.js';
import {
  bpfClass,
  bpfMode,
  bpfOp,
  bpfSrc,
  loadWidth,
  Op,
  SKF_AD_OFF,
  SKF_AD_VLAN_TAG,
  SKF_AD_VLAN_TAG_PRESENT,
  SKF_AD_VLAN_TPID,
} from './classic-bpf-asm.js';

/** Bytes 12..15 of the wire frame: the outer tag (TPID, TCI). */
const TAG_AT = 12;
const TAG_END = 16;

interface Needs {
  /** Scratch words the expression uses, in first-use order. */
  slots: number[];
  /** A word to save A (or build a value) in. */
  temp: boolean;
  /** A word to save X in around virtual variable-offset loads. */
  saveX: boolean;
}

function overlapsTag(k: number, width: number): boolean {
  return k < TAG_END && k + width > TAG_AT;
}

function needsOf(prog: readonly BpfInsn[], live: boolean): Needs {
  const slots: number[] = [];
  let temp = false;
  let saveX = false;
  for (const insn of prog) {
    const cls = bpfClass(insn.code);
    const mode = bpfMode(insn.code);
    if (((cls === Op.LD || cls === Op.LDX) && mode === Op.MEM) || cls === Op.ST || cls === Op.STX) {
      if (!slots.includes(insn.k)) slots.push(insn.k);
    }
    if (cls === Op.LDX && mode === Op.MSH) temp = true;
    if (cls === Op.ALU && bpfSrc(insn.code) === Op.X) {
      const op = bpfOp(insn.code);
      if (op === Op.DIV || op === Op.MOD) temp = true;
    }
    if (live) {
      if (cls === Op.LDX && mode === Op.LEN) temp = true;
      if (cls === Op.LD && mode === Op.IND) {
        temp = true;
        saveX = true;
      }
      if (cls === Op.LD && mode === Op.ABS && overlapsTag(insn.k, loadWidth(insn.code))) {
        temp = true;
        saveX = true;
      }
    }
  }
  return { slots, temp, saveX };
}

/** Scratch words an expression needs next to the rule program's own. */
export function expressionScratchWords(prog: readonly BpfInsn[], live: boolean): number {
  const n = needsOf(prog, live);
  return n.slots.length + (n.temp ? 1 : 0) + (n.saveX ? 1 : 0);
}

/**
 * Throws on a program no libpcap file compile produces: a jump out of the
 * program, or an ancillary or negative-offset load (a program compiled for
 * a live socket).
 */
export function checkExpressionProgram(prog: readonly BpfInsn[]): void {
  const n = prog.length;
  prog.forEach((insn, i) => {
    const cls = bpfClass(insn.code);
    const mode = bpfMode(insn.code);
    if (cls === Op.JMP) {
      const far =
        bpfOp(insn.code) === Op.JA
          ? (insn.k | 0) >= 0 && i + 1 + insn.k >= n
          : i + 1 + Math.max(insn.jt, insn.jf) >= n;
      if (far) throw new Error(`bpf: instruction ${i} jumps past the program`);
    }
    if (
      ((cls === Op.LD && (mode === Op.ABS || mode === Op.IND)) ||
        (cls === Op.LDX && mode === Op.MSH)) &&
      insn.k >= 0x80000000
    ) {
      throw new Error(
        `bpf: instruction ${i} loads at ${insn.k - 0x100000000} (an ancillary or negative ` +
          'offset, as in a program compiled for a live socket); compile for frames with ' +
          'their tags inline (compileBpf)',
      );
    }
  });
}

/**
 * Why `prog` (checked with checkExpressionProgram) cannot be spliced so that
 * it means exactly what libpcap's interpreter makes of it, or null.
 */
export function spliceProblem(
  prog: readonly BpfInsn[],
  live: boolean,
  freeWords: number,
): string | null {
  const backward = prog.some((insn) => insn.code === (Op.JMP | Op.JA) && (insn.k | 0) < 0);
  if (backward) {
    return 'it jumps backwards (libpcap loops over IPv6 extension headers for `protochain`), which the kernel does not allow in classic BPF';
  }
  const words = expressionScratchWords(prog, live);
  if (words > freeWords) {
    return `it needs ${words} scratch words and the rule program leaves ${freeWords} free`;
  }
  return null;
}

export interface SpliceTarget {
  /** Where the expression's accept (`ret #k`, k != 0) continues. */
  match: Label;
  /** Where its reject (`ret #0`, or a load past the frame) continues. */
  noMatch: Label;
  live: boolean;
  /** Scratch words the expression may use (at least `expressionScratchWords`). */
  freeWords: readonly number[];
}

/** Emits `prog` (checked with spliceProblem) so that it jumps to `match` or `noMatch`. */
export function spliceExpression(
  b: BpfBuilder,
  prog: readonly BpfInsn[],
  target: SpliceTarget,
): void {
  const needs = needsOf(prog, target.live);
  const free = [...target.freeWords];
  const slotMap = new Map<number, number>();
  for (const s of needs.slots) slotMap.set(s, take(free));
  const temp = needs.temp ? take(free) : -1;
  const saveX = needs.saveX ? take(free) : -1;
  const ctx: Copy = {
    b,
    prog,
    slotMap,
    temp,
    saveX,
    match: target.match,
    noMatch: target.noMatch,
    virtual: false,
  };
  if (!target.live) {
    emitCopy(ctx);
    return;
  }
  const virtual = b.label();
  b.op(Op.LD | Op.W | Op.ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT);
  b.jump(Op.JEQ | Op.K, 0, null, virtual);
  emitCopy(ctx);
  b.place(virtual);
  emitCopy({ ...ctx, virtual: true });
}

function take(free: number[]): number {
  const s = free.shift();
  if (s === undefined) throw new Error('bpf: out of scratch words (spliceProblem not checked)');
  return s;
}

interface Copy {
  b: BpfBuilder;
  prog: readonly BpfInsn[];
  slotMap: Map<number, number>;
  temp: number;
  saveX: number;
  match: Label;
  noMatch: Label;
  /** Reads the virtual wire frame (a tag is in metadata). */
  virtual: boolean;
}

function emitCopy(c: Copy): void {
  const { b, prog } = c;
  const labels = new Map<number, Label>();
  // A jump to a `ret #k` goes straight to the continuation.
  const dest = (i: number): Label => {
    const insn = prog[i];
    if (insn.code === (Op.RET | Op.K)) return insn.k !== 0 ? c.match : c.noMatch;
    let l = labels.get(i);
    if (l === undefined) {
      l = b.label();
      labels.set(i, l);
    }
    return l;
  };
  prog.forEach((insn, i) => {
    const l = labels.get(i);
    if (l !== undefined) b.place(l);
    emitInsn(c, insn, i, dest);
  });
}

function emitInsn(c: Copy, insn: BpfInsn, i: number, dest: (i: number) => Label): void {
  const { b } = c;
  const { code, k } = insn;
  const cls = bpfClass(code);
  const mode = bpfMode(code);
  const slot = (s: number): number => c.slotMap.get(s) as number;
  switch (cls) {
    case Op.LD:
      if (mode === Op.MEM) b.op(code, slot(k));
      else if (mode === Op.LEN) {
        b.op(code);
        if (c.virtual) b.op(Op.ALU | Op.ADD | Op.K, 4);
      } else if (mode === Op.ABS) {
        const w = loadWidth(code);
        guardLength(c, k + w);
        if (!c.virtual || k + w <= TAG_AT) b.op(code, k);
        else if (k >= TAG_END) b.op(code, k - 4);
        else composeWire(c, k, w);
      } else if (mode === Op.IND) {
        const w = loadWidth(code);
        guardLength(c, -1);
        b.op(Op.ALU | Op.SUB | Op.X);
        b.jump(Op.JGE | Op.K, k + w, null, c.noMatch);
        if (c.virtual) loadWireAtX(c, code, k, w);
        else b.op(code, k);
      } else b.op(code, k);
      return;
    case Op.LDX:
      if (mode === Op.MEM) b.op(code, slot(k));
      else if (mode === Op.LEN && c.virtual) {
        b.op(Op.ST, c.temp);
        b.op(Op.LD | Op.W | Op.LEN);
        b.op(Op.ALU | Op.ADD | Op.K, 4);
        b.op(Op.MISC | Op.TAX);
        b.op(Op.LD | Op.MEM, c.temp);
      } else if (mode === Op.MSH) {
        // X = 4 * (P[k] & 0xf); A is kept.
        b.op(Op.ST, c.temp);
        guardLength(c, k + 1);
        if (!c.virtual || k < TAG_AT) {
          b.op(Op.LD | Op.MEM, c.temp);
          b.op(code, k);
        } else if (k >= TAG_END) {
          b.op(Op.LD | Op.MEM, c.temp);
          b.op(code, k - 4);
        } else {
          wireTagByte(b, k);
          b.op(Op.ALU | Op.AND | Op.K, 0x0f);
          b.op(Op.ALU | Op.LSH | Op.K, 2);
          b.op(Op.MISC | Op.TAX);
          b.op(Op.LD | Op.MEM, c.temp);
        }
      } else b.op(code, k);
      return;
    case Op.ST:
    case Op.STX:
      b.op(code, slot(k));
      return;
    case Op.ALU: {
      const op = bpfOp(code);
      if ((op === Op.DIV || op === Op.MOD) && bpfSrc(code) === Op.X) {
        b.op(Op.ST, c.temp);
        b.op(Op.MISC | Op.TXA);
        b.jump(Op.JEQ | Op.K, 0, c.noMatch, null);
        b.op(Op.LD | Op.MEM, c.temp);
      }
      b.op(code, k);
      return;
    }
    case Op.JMP:
      if (bpfOp(code) === Op.JA) b.ja(dest(i + 1 + k));
      else b.jump(code, k, dest(i + 1 + insn.jt), dest(i + 1 + insn.jf));
      return;
    case Op.RET: {
      const src = code & 0x18;
      if (src === Op.K) b.ja(k !== 0 ? c.match : c.noMatch);
      else {
        if (src === Op.X) b.op(Op.MISC | Op.TXA);
        b.jump(Op.JEQ | Op.K, 0, c.noMatch, c.match);
      }
      return;
    }
    default:
      b.op(code, k);
  }
}

/**
 * Continues only if the frame (the virtual one when `virtual`) has at least
 * `end` bytes; end = -1: at least X bytes (then A = length). Clobbers A.
 */
function guardLength(c: Copy, end: number): void {
  const { b } = c;
  b.op(Op.LD | Op.W | Op.LEN);
  if (c.virtual) b.op(Op.ALU | Op.ADD | Op.K, 4);
  if (end < 0) b.jump(Op.JGE | Op.X, 0, null, c.noMatch);
  else b.jump(Op.JGE | Op.K, end, null, c.noMatch);
}

/** A = byte `i` (12..15) of the wire frame, from the metadata tag. */
function wireTagByte(b: BpfBuilder, i: number): void {
  b.op(Op.LD | Op.W | Op.ABS, SKF_AD_OFF + (i < 14 ? SKF_AD_VLAN_TPID : SKF_AD_VLAN_TAG));
  if (i % 2 === 0) b.op(Op.ALU | Op.RSH | Op.K, 8);
  b.op(Op.ALU | Op.AND | Op.K, 0xff);
}

/** A = byte `i` of the wire frame (in bounds). */
function wireByte(b: BpfBuilder, i: number): void {
  if (i < TAG_AT) b.op(Op.LD | Op.B | Op.ABS, i);
  else if (i >= TAG_END) b.op(Op.LD | Op.B | Op.ABS, i - 4);
  else wireTagByte(b, i);
}

/** A = the `w` bytes at `k` of the wire frame, big-endian; clobbers X and the temp word. */
function composeWire(c: Copy, k: number, w: number): void {
  const { b } = c;
  if (c.saveX >= 0) b.op(Op.STX, c.saveX);
  composeBytes(c, k, w);
  if (c.saveX >= 0) b.op(Op.LDX | Op.MEM, c.saveX);
}

function composeBytes(c: Copy, k: number, w: number): void {
  const { b } = c;
  for (let j = 0; j < w; j++) {
    wireByte(b, k + j);
    if (j > 0) {
      b.op(Op.MISC | Op.TAX);
      b.op(Op.LD | Op.MEM, c.temp);
      b.op(Op.ALU | Op.LSH | Op.K, 8);
      b.op(Op.ALU | Op.OR | Op.X);
    }
    if (j < w - 1) b.op(Op.ST, c.temp);
  }
}

/**
 * A = the `w` bytes at X + k of the wire frame (in bounds), X kept: below
 * the tag they are the frame's, past it 4 bytes further back, across it
 * each possible offset is composed on its own.
 */
function loadWireAtX(c: Copy, code: number, k: number, w: number): void {
  const { b } = c;
  const done = b.label();
  const high = b.label();
  const across = b.label();
  const load = Op.LD | (code & 0x18) | Op.IND;
  b.op(Op.STX, c.saveX);
  b.op(Op.MISC | Op.TXA);
  b.op(Op.ALU | Op.ADD | Op.K, k);
  b.jump(Op.JGE | Op.K, TAG_END, high, null);
  b.jump(Op.JGT | Op.K, TAG_AT - w, across, null);
  b.op(Op.MISC | Op.TAX);
  b.op(load, 0);
  b.op(Op.LDX | Op.MEM, c.saveX);
  b.ja(done);
  b.place(high);
  b.op(Op.ALU | Op.SUB | Op.K, 4);
  b.op(Op.MISC | Op.TAX);
  b.op(load, 0);
  b.op(Op.LDX | Op.MEM, c.saveX);
  b.ja(done);
  b.place(across);
  for (let at = TAG_AT - w + 1; at < TAG_END; at++) {
    const next = b.label();
    if (at < TAG_END - 1) b.jump(Op.JEQ | Op.K, at, null, next);
    composeBytes(c, at, w);
    b.op(Op.LDX | Op.MEM, c.saveX);
    b.ja(done);
    b.place(next);
  }
  b.place(done);
}
