import {
  closeXsk,
  openXsk,
  pollXsk,
  xskFill,
  xskReceive,
  xskRelease,
  xskStats,
} from '@netmirror/native';
import type { XdpMode, XskSocket } from '@netmirror/native';
import type { FrameBatch } from '@netmirror/packet';
import { LinkType } from '@netmirror/packet';
import type { SourceInterface } from '../sinks/index.js';
import { Waker } from './waker.js';
import type { Tap } from './tap.js';

export interface XdpTapOptions {
  /** The receive queue to capture (an XSK socket sees one queue only). */
  queue: number;
  /** UMEM frames, a power of two (64..262144). */
  frames: number;
  /** Bytes per UMEM frame, 2048 or 4096; frames longer than this minus 256 are dropped (and counted). */
  frameSize: 2048 | 4096;
  /** Where the XDP program runs: `skb` (generic, any driver) or `drv` (native, in the driver). */
  mode: XdpMode;
  /** Zero-copy: false (copy mode), true (required; needs mode drv), or 'auto' (if the driver has it). */
  zeroCopy: boolean | 'auto';
}

/** Most frames taken off the rx ring per batch (at most half the UMEM, so the kernel keeps frames to fill). */
const RECEIVE_MAX = 1024;
/**
 * A receive that found fewer frames than this means the event loop is
 * outrunning the link: the next receive waits MODERATION_MS first, so frames
 * gather into a batch instead of being taken a few at a time (each take
 * costs a native call and a cache-cold look at the ring). Like a NIC's
 * interrupt moderation; AF_PACKET gets the same from its block timeout.
 */
const SMALL_BATCH = 128;
const MODERATION_MS = 1;
/** pcapng epb_flags: inbound (XDP sees only received frames; the reception type is unknown). */
const INBOUND = 1;

/**
 * `xdp:IFACE`: live frames from an AF_XDP socket on one queue of the
 * interface, with libxdp's default program redirecting that queue's frames
 * into the socket's UMEM. Batches point straight into the UMEM (nothing is
 * copied per frame); the frames of a batch go back to the kernel's fill ring
 * once every one of them has been through the pipeline (at the next
 * `ready()`). VLAN tags stay inline, as on the wire. There is no kernel
 * filter (no `prefilter`): the pipeline filters in user space.
 *
 * IMPORTANT: XDP redirect TAKES frames away from the kernel stack: a
 * redirected frame does not continue to its destination. `xdp:` is therefore
 * for a capture port that carries only copies (a switch's SPAN/mirror port,
 * or a passive tap's output), never for an inline link or an interface the
 * host itself talks on; use `afpacket:` there.
 *
 * Timestamps: AF_XDP has none per frame. Every frame of a batch carries the
 * CLOCK_REALTIME time read when the batch was taken off the rx ring, so a
 * frame's time is when the event loop got to it, not when it arrived, and
 * the frames of one batch (up to 1024) share one time.
 *
 * Only frames of the chosen queue (`?queue=N`, default 0) are captured: on a
 * multi-queue NIC, steer the mirrored traffic to that queue (e.g. `ethtool -L
 * IFACE combined 1`) or open one tap per queue.
 */
export class XdpTap implements Tap {
  readonly live = true;
  readonly interfaces: readonly SourceInterface[];
  readonly linkTypes: ArrayLike<number> = [LinkType.ETHERNET];
  private readonly xsk: XskSocket;
  private readonly addrs: Int32Array;
  private readonly lens: Int32Array;
  /** Frames of the held batch, and how many of them `next()` has handed out. */
  private count = 0;
  private pos = 0;
  private readonly waker = new Waker((cb) => pollXsk(this.xsk, cb));
  /** The last receive was small (see SMALL_BATCH). */
  private trickle = false;
  private closed = false;

  constructor(
    readonly uri: string,
    readonly ifname: string,
    options: XdpTapOptions,
  ) {
    this.xsk = openXsk(ifname, {
      queue: options.queue,
      frameCount: options.frames,
      frameSize: options.frameSize,
      mode: options.mode,
      zeroCopy: options.zeroCopy,
    });
    const max = Math.min(RECEIVE_MAX, options.frames / 2);
    this.addrs = new Int32Array(max);
    this.lens = new Int32Array(max);
    this.interfaces = [
      { linkType: LinkType.ETHERNET, snapLen: this.xsk.maxFrameLength, name: ifname },
    ];
  }

  /** Whether the socket ended up in zero-copy mode (with `zc=auto`, what the driver allowed). */
  get zeroCopy(): boolean {
    return this.xsk.zeroCopy;
  }

  /** Id of a stale libxdp program (left by a crashed process) removed at open, else 0. */
  get staleProgramId(): number {
    return this.xsk.staleProgramId;
  }

  /** How full the UMEM is (frames the kernel cannot fill now), for riding out stalls. */
  backlog(): number {
    return this.closed ? 0 : xskFill(this.xsk);
  }

  ready(): Promise<void> | null {
    if (this.closed) return null;
    if (this.pos < this.count) return null;
    if (this.count > 0) {
      xskRelease(this.xsk);
      this.count = 0;
      this.pos = 0;
    }
    if (this.trickle) {
      this.trickle = false;
      return new Promise((resolve) => setTimeout(resolve, MODERATION_MS));
    }
    const n = xskReceive(this.xsk, this.addrs, this.lens);
    if (n > 0) {
      this.count = n;
      this.trickle = n < SMALL_BATCH;
      return null;
    }
    return this.waker.wait();
  }

  next(batch: FrameBatch): number {
    batch.clear();
    if (this.closed) return 0;
    if (this.pos >= this.count) return -1;
    batch.buf = this.xsk.umem;
    const sec = this.xsk.stamp[0];
    const nsec = this.xsk.stamp[1];
    const { addrs, lens } = this;
    while (batch.count < batch.capacity && this.pos < this.count) {
      const i = this.pos++;
      batch.push(addrs[i], lens[i], lens[i], sec, nsec, 0, INBOUND);
    }
    return batch.count;
  }

  /** Frames the kernel dropped for this socket: no free UMEM frame (or too long), or a full rx ring. */
  sourceDrops(): number[] {
    const s = this.closed ? this.xsk.totals : xskStats(this.xsk);
    return [s.rxDropped + s.rxRingFull];
  }

  close(): void {
    if (this.closed) return;
    xskStats(this.xsk); // the last counts, before the socket goes
    this.closed = true;
    this.count = 0;
    this.pos = 0;
    closeXsk(this.xsk);
  }
}

const OPTIONS = 'queue, frames, framesize, mode, zc';

/**
 * Options of `xdp:IFACE[?queue=N&frames=N&framesize=2048|4096&mode=skb|drv&zc=0|1|auto]`.
 *
 * Defaults:
 * - queue 0.
 * - 65536 frames of 2048 bytes: a 128 MiB UMEM (pinned). A UMEM frame holds
 *   one packet whatever its size, so this buffers 65 ms of 1 Mpps while the
 *   event loop is busy or a destination is full (16384 frames lost frames in
 *   bench/live; afpacket's 64 MiB ring holds ~700,000 small frames). Frames
 *   up to 1792 bytes (a tagged 1518-byte frame fits); jumbo frames need
 *   `framesize=4096` (up to 3840). The kernel takes only 2048 or 4096.
 * - mode `skb`: generic XDP, which every driver has and which takes any MTU
 *   (native XDP on veth refuses a peer MTU above 3506).
 * - zc 0: copy mode. Zero-copy needs mode=drv and driver support; `zc=auto`
 *   uses it when the driver has it, so `mode=drv&zc=auto` is the fast
 *   setting on a NIC whose driver has native XDP.
 */
export function xdpTapOptions(uri: string, query: string | undefined): XdpTapOptions {
  const o: XdpTapOptions = {
    queue: 0,
    frames: 65536,
    frameSize: 2048,
    mode: 'skb',
    zeroCopy: false,
  };
  const bad = (what: string): Error => new Error(`--from ${uri}: ${what}`);
  const int = (v: string, name: string, min: number, max: number): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw bad(`${name}=${v}: must be an integer in ${min}..${max}`);
    return n;
  };
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    switch (key) {
      case 'queue':
        o.queue = int(value, 'queue', 0, 65535);
        break;
      case 'frames': {
        const n = int(value, 'frames', 64, 262144);
        if ((n & (n - 1)) !== 0) throw bad(`frames=${value}: must be a power of two (64..262144)`);
        o.frames = n;
        break;
      }
      case 'framesize':
        if (value !== '2048' && value !== '4096')
          throw bad(`framesize=${value}: must be 2048 or 4096`);
        o.frameSize = value === '2048' ? 2048 : 4096;
        break;
      case 'mode':
        if (value !== 'skb' && value !== 'drv') throw bad(`mode=${value}: must be skb or drv`);
        o.mode = value;
        break;
      case 'zc':
        if (value !== '0' && value !== '1' && value !== 'auto')
          throw bad(`zc=${value}: must be 0, 1 or auto`);
        o.zeroCopy = value === 'auto' ? 'auto' : value === '1';
        break;
      default:
        throw bad(`unknown option ${key}; xdp takes ${OPTIONS}`);
    }
  }
  if (o.zeroCopy === true && o.mode !== 'drv')
    throw bad('zc=1 needs mode=drv (zero-copy works only with native XDP)');
  return o;
}
