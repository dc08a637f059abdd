import type { FrameBatch } from '@netmirror/packet';
import { BufferedFileOutput, copyBytes, u16le, u32le } from './buffered-output.js';
import { BT_EPB, BT_IDB, BT_ISB, BT_SHB, BYTE_ORDER_MAGIC } from './pcapng-reader.js';
import { timeToTicks, TSRESOL_NS, TSRESOL_US } from './timestamps.js';

const pad4 = (n: number): number => (n + 3) & ~3;
const TWO32 = 4294967296;

type Option = [code: number, value: Buffer];

/** Builds a little-endian block: type, length, body, options (+ opt_endofopt), length. */
function block(type: number, body: Buffer, options: Option[]): Buffer {
  let optLen = 0;
  for (const [, v] of options) optLen += 4 + pad4(v.length);
  if (options.length > 0) optLen += 4;
  const len = 8 + body.length + optLen + 4;
  const b = Buffer.alloc(len);
  u32le(b, 0, type);
  u32le(b, 4, len);
  body.copy(b, 8);
  let o = 8 + body.length;
  for (const [code, v] of options) {
    u16le(b, o, code);
    u16le(b, o + 2, v.length);
    v.copy(b, o + 4);
    o += 4 + pad4(v.length);
  }
  // opt_endofopt is zeros already
  u32le(b, len - 4, len);
  return b;
}

function u8(v: number): Buffer {
  return Buffer.from([v]);
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  const hi = Math.floor(v / TWO32);
  u32le(b, 0, v - hi * TWO32);
  u32le(b, 4, hi);
  return b;
}

const scratch = new Float64Array(2);

function ts64(sec: number, nsec: number, nanosecond: boolean): Buffer {
  timeToTicks(sec, nsec, nanosecond, scratch);
  const b = Buffer.alloc(8);
  u32le(b, 0, scratch[0]);
  u32le(b, 4, scratch[1]);
  return b;
}

export interface PcapngSectionOptions {
  /** shb_userappl, default "NetMirror". */
  userAppl?: string;
  /** shb_hardware. */
  hardware?: string;
  /** shb_os. */
  os?: string;
}

/** A Section Header Block (little-endian, section length -1). */
export function pcapngSectionHeader(o: PcapngSectionOptions = {}): Buffer {
  const body = Buffer.alloc(16);
  u32le(body, 0, BYTE_ORDER_MAGIC);
  u16le(body, 4, 1);
  u16le(body, 6, 0);
  body.fill(0xff, 8, 16); // section length unknown
  const opts: Option[] = [];
  if (o.hardware !== undefined) opts.push([2, Buffer.from(o.hardware)]);
  if (o.os !== undefined) opts.push([3, Buffer.from(o.os)]);
  opts.push([4, Buffer.from(o.userAppl ?? 'NetMirror')]);
  return block(BT_SHB, body, opts);
}

export interface PcapngInterfaceOptions {
  /** LINKTYPE_* value. */
  linkType: number;
  /** Default 262144. */
  snapLen?: number;
  /** if_name. */
  name?: string;
  /** if_description. */
  description?: string;
  /** if_tsresol: 9 (ns, default) or 6 (µs). */
  tsResol?: 6 | 9;
  /** if_fcslen. */
  fcsLen?: number;
}

/** An Interface Description Block. */
export function pcapngInterfaceDescription(o: PcapngInterfaceOptions): Buffer {
  const body = Buffer.alloc(8);
  u16le(body, 0, o.linkType);
  u32le(body, 4, o.snapLen ?? 262144);
  const opts: Option[] = [];
  if (o.name !== undefined) opts.push([2, Buffer.from(o.name)]);
  if (o.description !== undefined) opts.push([3, Buffer.from(o.description)]);
  opts.push([9, u8(o.tsResol ?? TSRESOL_NS)]);
  if (o.fcsLen !== undefined) opts.push([13, u8(o.fcsLen)]);
  return block(BT_IDB, body, opts);
}

export interface PcapngStatisticsOptions {
  interfaceId: number;
  /** When the counters were taken. */
  tsSec: number;
  tsNsec: number;
  startSec?: number;
  startNsec?: number;
  endSec?: number;
  endNsec?: number;
  ifRecv?: number;
  ifDrop?: number;
  filterAccept?: number;
  osDrop?: number;
  usrDeliv?: number;
  /** The interface's if_tsresol is 9 (default) rather than 6. */
  nanosecond?: boolean;
}

/** An Interface Statistics Block. */
export function pcapngInterfaceStatistics(o: PcapngStatisticsOptions): Buffer {
  const ns = o.nanosecond ?? true;
  const body = Buffer.alloc(12);
  u32le(body, 0, o.interfaceId);
  ts64(o.tsSec, o.tsNsec, ns).copy(body, 4);
  const opts: Option[] = [];
  if (o.startSec !== undefined) opts.push([2, ts64(o.startSec, o.startNsec ?? 0, ns)]);
  if (o.endSec !== undefined) opts.push([3, ts64(o.endSec, o.endNsec ?? 0, ns)]);
  if (o.ifRecv !== undefined) opts.push([4, u64(o.ifRecv)]);
  if (o.ifDrop !== undefined) opts.push([5, u64(o.ifDrop)]);
  if (o.filterAccept !== undefined) opts.push([6, u64(o.filterAccept)]);
  if (o.osDrop !== undefined) opts.push([7, u64(o.osDrop)]);
  if (o.usrDeliv !== undefined) opts.push([8, u64(o.usrDeliv)]);
  return block(BT_ISB, body, opts);
}

/** Bytes an EPB of caplen bytes takes (with epb_flags when flags != 0). */
export function enhancedPacketBlockLength(caplen: number, flags = 0): number {
  return 32 + pad4(caplen) + (flags !== 0 ? 12 : 0);
}

const tick = new Float64Array(2);

/**
 * Encodes an Enhanced Packet Block (little-endian) into dst at `at`; adds an
 * epb_flags option when flags != 0. Timestamps are in the interface's
 * resolution: nanoseconds (if_tsresol 9, the default) or microseconds.
 * Returns the bytes written; too small a dst throws RangeError. With `copyPayload`
 * false the frame bytes (at `at + 28`) are left to the caller.
 */
export function writeEnhancedPacketBlock(
  dst: Buffer,
  at: number,
  interfaceId: number,
  src: Uint8Array,
  srcOff: number,
  caplen: number,
  wirelen: number,
  tsSec: number,
  tsNsec: number,
  flags = 0,
  nanosecond = true,
  copyPayload = true,
): number {
  const padded = pad4(caplen);
  const len = 32 + padded + (flags !== 0 ? 12 : 0);
  if (at < 0 || at + len > dst.length) {
    throw new RangeError(`pcapng: EPB of ${len} bytes does not fit at ${at} in ${dst.length}`);
  }
  timeToTicks(tsSec, tsNsec, nanosecond, tick);
  u32le(dst, at, BT_EPB);
  u32le(dst, at + 4, len);
  u32le(dst, at + 8, interfaceId);
  u32le(dst, at + 12, tick[0]);
  u32le(dst, at + 16, tick[1]);
  u32le(dst, at + 20, caplen);
  u32le(dst, at + 24, wirelen);
  if (copyPayload) copyBytes(src, srcOff, dst, at + 28, caplen);
  let o = at + 28 + caplen;
  for (; o < at + 28 + padded; o++) dst[o] = 0;
  if (flags !== 0) {
    u32le(dst, o, 0x00040002); // epb_flags, length 4
    u32le(dst, o + 4, flags);
    u32le(dst, o + 8, 0); // opt_endofopt
    o += 12;
  }
  u32le(dst, o, len);
  return len;
}

export interface PcapngWriterOptions extends PcapngSectionOptions {
  /** Interfaces to declare at the start (more with addInterface()). */
  interfaces?: PcapngInterfaceOptions[];
  /** Staging buffer size, default 1 MiB. */
  bufferSize?: number;
}

/** Buffered pcapng file writer (one little-endian section) over a path or an fd. */
export class PcapngWriter {
  frames = 0;
  private readonly out: BufferedFileOutput;
  private readonly ifNs: boolean[] = [];

  constructor(pathOrFd: string | number, options: PcapngWriterOptions = {}) {
    this.out = new BufferedFileOutput(pathOrFd, options.bufferSize);
    this.out.writeRaw(pcapngSectionHeader(options));
    for (const i of options.interfaces ?? []) this.addInterface(i);
  }

  get bytesWritten(): number {
    return this.out.written;
  }

  /** Declares an interface; returns its id. */
  addInterface(o: PcapngInterfaceOptions): number {
    this.out.writeRaw(pcapngInterfaceDescription(o));
    this.ifNs.push((o.tsResol ?? TSRESOL_NS) !== TSRESOL_US);
    return this.ifNs.length - 1;
  }

  writeFrame(
    interfaceId: number,
    src: Uint8Array,
    srcOff: number,
    caplen: number,
    wirelen: number,
    tsSec: number,
    tsNsec: number,
    flags = 0,
  ): void {
    const ns = this.ifNs[interfaceId];
    if (ns === undefined) throw new RangeError(`pcapng: no interface ${interfaceId}`);
    const out = this.out;
    const len = enhancedPacketBlockLength(caplen, flags);
    const at = out.reserve(len);
    if (at >= 0) {
      out.commit(
        writeEnhancedPacketBlock(
          out.buf,
          at,
          interfaceId,
          src,
          srcOff,
          caplen,
          wirelen,
          tsSec,
          tsNsec,
          flags,
          ns,
        ),
      );
    } else {
      const b = Buffer.allocUnsafe(len); // frame bigger than the staging buffer: rare
      writeEnhancedPacketBlock(
        b,
        0,
        interfaceId,
        src,
        srcOff,
        caplen,
        wirelen,
        tsSec,
        tsNsec,
        flags,
        ns,
      );
      out.writeRaw(b);
    }
    this.frames++;
  }

  /** Writes every frame of a batch, keeping its ifIndex and flags. */
  writeBatch(batch: FrameBatch): void {
    const buf = batch.buf;
    for (let i = 0; i < batch.count; i++) {
      this.writeFrame(
        batch.ifIndex[i],
        buf,
        batch.offset[i],
        batch.caplen[i],
        batch.wirelen[i],
        batch.tsSec[i],
        batch.tsNsec[i],
        batch.flags[i],
      );
    }
  }

  writeStatistics(o: PcapngStatisticsOptions): void {
    const ns = this.ifNs[o.interfaceId];
    if (ns === undefined) throw new RangeError(`pcapng: no interface ${o.interfaceId}`);
    this.out.writeRaw(pcapngInterfaceStatistics({ ...o, nanosecond: ns }));
  }

  /** Appends a prepared block verbatim (e.g. a custom block). */
  writeBlock(b: Uint8Array): void {
    this.out.writeRaw(b);
  }

  flush(): void {
    this.out.flush();
  }

  close(sync = false): void {
    this.out.close(sync);
  }
}
