// AF_XDP capture through libxdp.
//
// The addon (csrc/xdp.cc) allocates the UMEM, creates the XSK socket with
// libxdp's default redirect program attached to the interface, and keeps the
// fill and rx rings; this module gives them types, picks defaults, falls back
// from zero-copy to copy mode when asked to, and stamps every receive batch
// with the wall clock (AF_XDP carries no per-packet timestamp).
import { native } from './native.js';

/**
 * Where the XDP program runs. `skb` is generic XDP, in the network stack
 * after the driver built an skb: every driver has it, copy mode only, and a
 * jumbo MTU is fine. `drv` is native XDP inside the driver: faster, needed for
 * zero-copy, and the driver may refuse it (on veth the peer's MTU must be
 * ≤ 3506).
 */
export type XdpMode = 'skb' | 'drv';

/** Frame headroom the kernel leaves before each received frame in copy mode (XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;

export interface XskOptions {
  /** The interface's receive queue the socket binds to (default 0). Other queues' traffic is not seen. */
  queue?: number;
  /** Frames in the UMEM, a power of two 64..262144 (default 4096). The fill and rx rings hold this many too. */
  frameCount?: number;
  /**
   * UMEM chunk size, 2048 or 4096 (default 4096): the kernel takes only
   * power-of-two chunks from 2048 to the page size. A frame longer than
   * `frameSize - XDP_PACKET_HEADROOM` (3840 or 1792) is dropped by the kernel
   * and counted in `rxDropped`.
   */
  frameSize?: 2048 | 4096;
  /** Default `skb` (works on every interface). */
  mode?: XdpMode;
  /**
   * `true` binds with XDP_ZEROCOPY (needs mode `drv` and driver support; an
   * Error with code EOPNOTSUPP otherwise); `'auto'` tries zero-copy in `drv`
   * mode and falls back to copy mode when the driver refuses it; `false`
   * (default) binds with XDP_COPY.
   */
  zeroCopy?: boolean | 'auto';
}

/** XDP_STATISTICS of the socket: totals since it was opened. */
export interface XskStats {
  /** Frames dropped because no fill-ring frame was free or the frame was longer than a UMEM frame. */
  rxDropped: number;
  /** Invalid descriptors (rx_invalid_descs). */
  rxInvalid: number;
  /** Frames dropped because the rx ring was full. */
  rxRingFull: number;
  /** Times the kernel found the fill ring empty (rx_fill_ring_empty_descs). */
  fillRingEmpty: number;
}

/** An open XSK socket. Use only from the thread that opened it. */
export interface XskSocket {
  /** The addon's handle (the socket's fd). */
  readonly handle: number;
  readonly ifname: string;
  readonly queue: number;
  readonly mode: XdpMode;
  /** Whether the socket is bound in zero-copy mode (false: copy mode). */
  readonly zeroCopy: boolean;
  readonly frameCount: number;
  readonly frameSize: number;
  /** The longest frame the socket delivers: frameSize - XDP_PACKET_HEADROOM. */
  readonly maxFrameLength: number;
  /**
   * The whole UMEM, shared with the kernel. Received frames are ranges of
   * it; a frame is rewritten by the kernel once released. Empty after close.
   */
  readonly umem: Buffer;
  /** Id of a stale libxdp XSK program openXsk detached from the interface first, else 0. */
  readonly staleProgramId: number;
  /**
   * CLOCK_REALTIME when the last non-empty batch was taken off the rx ring:
   * [seconds, nanoseconds]. Every frame of that batch carries this time.
   */
  readonly stamp: Float64Array;
  /** The last statistics read (they stay readable after close). */
  readonly totals: XskStats;
}

const MODE = { skb: 0, drv: 1 } as const;

// Node runs the addon's environment cleanup (which deletes the sockets, so
// libxdp detaches its program) when the event loop drains, but not on
// process.exit() or an uncaught exception: 'exit' covers those. A signal that
// kills the process still leaves the program attached; the next openXsk on
// the interface removes it.
const openSockets = new Set<XskSocket>();
let exitHook = false;
function closeAllAtExit(): void {
  for (const xsk of openSockets) {
    try {
      closeXsk(xsk);
    } catch {
      // already closed by the addon's cleanup
    }
  }
}

/**
 * Opens an AF_XDP socket on `ifname`'s queue `options.queue`, with libxdp's
 * default XSK program attached to the interface (or shared, when another live
 * socket of this or another process attached it). A stale libxdp XSK program
 * left by a crashed process is detached first; any other XDP program on the
 * interface is never touched (Error, code EBUSY). A queue still being
 * released by a socket closed moments ago is retried for up to 2 s (this call
 * blocks meanwhile).
 *
 * Needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF; CAP_IPC_LOCK or a large
 * enough `ulimit -l` for the pinned UMEM). Errors carry a Node-style `code`:
 * ENODEV (no such interface), EBUSY, EOPNOTSUPP (zero-copy or native XDP
 * refused), ERANGE (MTU too large for native XDP); wrong sizes throw a
 * RangeError.
 *
 * XDP redirect takes frames away from the kernel stack: on `ifname`'s queue
 * they no longer reach their destination. Capture from a port that carries
 * copies only.
 */
export function openXsk(ifname: string, options: XskOptions = {}): XskSocket {
  const queue = options.queue ?? 0;
  const frameCount = options.frameCount ?? 4096;
  const frameSize = options.frameSize ?? 4096;
  const mode = options.mode ?? 'skb';
  const zc = options.zeroCopy ?? false;
  if (!(mode in MODE)) throw new RangeError(`openXsk: mode must be 'skb' or 'drv', got ${mode}`);
  if (zc === true && mode !== 'drv')
    throw new RangeError('openXsk: zero-copy needs native XDP (mode drv)');
  const tryZc = zc === true || (zc === 'auto' && mode === 'drv');
  let opened: { handle: number; umem: Buffer; staleProgramId: number };
  let zeroCopy = tryZc;
  try {
    opened = native.openXsk(ifname, queue, frameCount, frameSize, MODE[mode], tryZc);
  } catch (err) {
    if (!(zc === 'auto' && tryZc && (err as NodeJS.ErrnoException).code === 'EOPNOTSUPP'))
      throw err;
    zeroCopy = false;
    opened = native.openXsk(ifname, queue, frameCount, frameSize, MODE[mode], false);
  }
  const xsk: XskSocket = {
    handle: opened.handle,
    ifname,
    queue,
    mode,
    zeroCopy,
    frameCount,
    frameSize,
    maxFrameLength: frameSize - XDP_PACKET_HEADROOM,
    umem: opened.umem,
    staleProgramId: opened.staleProgramId,
    stamp: new Float64Array(2),
    totals: { rxDropped: 0, rxInvalid: 0, rxRingFull: 0, fillRingEmpty: 0 },
  };
  openSockets.add(xsk);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', closeAllAtExit);
  }
  return xsk;
}

/**
 * Takes up to `max` received frames off the rx ring without waiting: frame i
 * is `xsk.umem[addrs[i], addrs[i] + lens[i])`. Returns how many (0: none
 * ready). The frames stay held (the kernel cannot reuse them) until
 * `xskRelease`; successive receives add to the held set. A non-empty batch
 * sets `xsk.stamp`.
 */
export function xskReceive(
  xsk: XskSocket,
  addrs: Int32Array,
  lens: Int32Array,
  max: number = Math.min(addrs.length, lens.length),
): number {
  return native.xskReceive(xsk.handle, addrs, lens, max, xsk.stamp);
}

/** Gives every held frame back to the fill ring in one batch; returns how many. */
export function xskRelease(xsk: XskSocket): number {
  return native.xskRelease(xsk.handle);
}

/**
 * How full the socket's buffer is, 0..1: the share of UMEM frames the kernel
 * cannot fill now (received and waiting in the rx ring, held, or not yet back
 * in the fill ring). At 1 the kernel drops what arrives.
 */
export function xskFill(xsk: XskSocket): number {
  return native.xskBacklog(xsk.handle) / xsk.frameCount;
}

/** Reads XDP_STATISTICS (totals since open), keeps them in `xsk.totals` and returns a copy. */
export function xskStats(xsk: XskSocket): XskStats {
  Object.assign(xsk.totals, native.xskStats(xsk.handle));
  return { ...xsk.totals };
}

/**
 * Calls `callback` once, from the event loop, when the rx ring has frames
 * (then `xskReceive` returns them) or the socket has an error. Arming again
 * before it fires replaces the callback.
 */
export function pollXsk(xsk: XskSocket, callback: () => void): void {
  native.pollXsk(xsk.handle, callback);
}

/**
 * Deletes the socket and frees the UMEM (`xsk.umem` becomes empty). libxdp
 * detaches its program from the interface when no other socket uses it.
 */
export function closeXsk(xsk: XskSocket): void {
  native.closeXsk(xsk.handle);
  openSockets.delete(xsk);
}
