// Classic BPF, compiled and run by libpcap so an expression means exactly
// what it means to tcpdump.
import { native } from './native.js';

/** Bytes per `struct bpf_insn` (u16 code, u8 jt, u8 jf, u32 k; host order). */
export const BPF_INSN_SIZE = 8;

/**
 * Compiles a pcap-filter(7) expression for frames of `linkType` as `tcpdump -y`
 * would for a file: VLAN tags are expected inline in the frame (not in socket
 * metadata, see README). `linkType` is a LINKTYPE_ value as pcap/pcapng
 * headers carry it (`LinkType` from @netmirror/packet); the few that differ
 * from the platform's DLT_ values (101 RAW, ...) are mapped as libpcap maps
 * them when it opens a file. The result is the program as `struct bpf_insn`
 * bytes in host order, the same instructions `tcpdump -ddd` prints.
 *
 * Throws an Error whose message is libpcap's own (what tcpdump prints after
 * "tcpdump: "), with `expression` and `linkType` properties.
 */
export function compileBpf(
  expression: string,
  linkType: number,
  snapLen = 262144,
  optimize = true,
): Buffer {
  return native.compileBpf(expression, linkType, snapLen, optimize);
}

/**
 * Compiles a pcap-filter(7) expression for a live AF_PACKET socket on
 * `ifname`, as `tcpdump -i IFNAME` would: libpcap opens the interface for a
 * moment so that `vlan` tests the tag the kernel keeps in packet metadata
 * (the frame a socket filter sees has its outer tag taken out). Attach the
 * result with `setRingFilter`. Needs CAP_NET_RAW; throws libpcap's message
 * for an expression that does not compile or an interface it cannot open.
 */
export function compileBpfLive(expression: string, ifname: string, snapLen = 262144): Buffer {
  return native.compileBpfLive(expression, ifname, snapLen);
}

/** True when libpcap's bpf_validate() accepts the program. */
export function validateBpf(program: Uint8Array): boolean {
  return native.validateBpf(program);
}

/**
 * Runs `program` over frames `buf[offsets[i] .. offsets[i] + caplens[i])`,
 * i < count, in one native call, exactly as pcap_offline_filter() would
 * (wirelens[i] is the original length, which `len`/`greater`/`less` see).
 * Writes 1 (match) or 0 into out[i] and returns the number of matches.
 *
 * The program is checked with bpf_validate() on every call (linear in its
 * length, negligible next to a batch). Every frame is bounds-checked before
 * any is filtered: a bad descriptor throws a RangeError and leaves `out` as it was.
 */
export function bpfFilterBatch(
  program: Uint8Array,
  buf: Uint8Array,
  offsets: Int32Array,
  caplens: Int32Array,
  wirelens: Int32Array,
  count: number,
  out: Uint8Array,
): number {
  return native.bpfFilterBatch(program, buf, offsets, caplens, wirelens, count, out);
}

/** The program as `tcpdump -d` prints it (libpcap's bpf_image), one instruction a line. */
export function bpfToText(program: Uint8Array): string {
  return native.bpfToText(program);
}

/** One decoded `struct bpf_insn`. */
export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

function checkLength(program: Uint8Array): void {
  if (program.length === 0 || program.length % BPF_INSN_SIZE !== 0) {
    throw new RangeError(
      `bpf: program is ${program.length} bytes; expected a non-zero multiple of 8`,
    );
  }
}

/** Decodes a program into instructions (host order, as compileBpf returns it). */
export function decodeBpf(program: Uint8Array): BpfInsn[] {
  checkLength(program);
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const le = hostIsLittleEndian();
  const insns: BpfInsn[] = [];
  for (let at = 0; at < program.length; at += BPF_INSN_SIZE) {
    insns.push({
      code: view.getUint16(at, le),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, le),
    });
  }
  return insns;
}

/** Encodes instructions into program bytes (host order). */
export function encodeBpf(insns: readonly BpfInsn[]): Buffer {
  const out = Buffer.alloc(insns.length * BPF_INSN_SIZE);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const le = hostIsLittleEndian();
  insns.forEach((insn, i) => {
    const { code, jt, jf, k } = insn;
    if (
      !inRange(code, 0xffff) ||
      !inRange(jt, 0xff) ||
      !inRange(jf, 0xff) ||
      !inRange(k, 0xffffffff)
    ) {
      throw new RangeError(
        `bpf: instruction ${i} has a field out of range: ${code} ${jt} ${jf} ${k}`,
      );
    }
    const at = i * BPF_INSN_SIZE;
    view.setUint16(at, insn.code, le);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k >>> 0, le);
  });
  return out;
}

/**
 * The program as `tcpdump -ddd` prints it: the instruction count, then
 * "code jt jf k" in decimal, one a line. Joined with "," this is what
 * `tc filter ... bpf bytecode` takes.
 */
export function bpfToDdd(program: Uint8Array): string {
  const insns = decodeBpf(program);
  return (
    [String(insns.length), ...insns.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k}`)].join('\n') +
    '\n'
  );
}

/** Parses `tcpdump -ddd` output (or tc's comma-separated form) back into program bytes. */
export function bpfFromDdd(text: string): Buffer {
  const lines = text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const count = Number(lines[0]);
  if (!Number.isInteger(count) || count !== lines.length - 1) {
    throw new Error(`bpf: ddd text says ${lines[0]} instructions but has ${lines.length - 1}`);
  }
  return encodeBpf(
    lines.slice(1).map((line, i) => {
      const f = line.split(/\s+/).map(Number);
      if (f.length !== 4) {
        throw new Error(`bpf: ddd line ${i + 1} is not "code jt jf k": ${line}`);
      }
      return { code: f[0], jt: f[1], jf: f[2], k: f[3] };
    }),
  );
}

function inRange(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

function hostIsLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
