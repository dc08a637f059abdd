/**
 * One emulated board behind a byte transport (a pty): the board model, the
 * board half of the serial link, the wire's speed, fault injection, and the
 * data path's inputs (a capture file, or a live interface) and outputs.
 */
import { ingressPorts, monitorPorts, REGMAP_VERSION } from '@netmirror/fpga';
import type { BoardProfile } from '@netmirror/fpga';
import {
  closeRing,
  frameBytes,
  nextBlock,
  openPacketRing,
  pollRing,
  releaseBlock,
  walkBlock,
} from '@netmirror/native';
import type { PacketRing } from '@netmirror/native';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import {
  FaultyTransport,
  PacedTransport,
  ResetReason,
  SerialLinkServer,
} from '@netmirror/serial-link';
import type { ByteTransport, FaultOptions } from '@netmirror/serial-link';
import { BoardModel } from './board-model.js';
import type { PortOutput } from './outputs.js';

export interface EmulatorFaults extends FaultOptions {
  /** Restart the board (watchdog) after this many requests, again and again (0: never). */
  resetAfterRequests?: number;
}

export interface EmulatorOptions {
  profile: BoardProfile;
  transport: ByteTransport;
  /** The line speed to model (a pty has none of its own). */
  baudRate: number;
  faults?: EmulatorFaults;
  /** Copies of each monitor port (by index), if anyone wants them. */
  outputs?: Map<number, PortOutput>;
  /** FW_VERSION of the factory image in slot A. */
  factoryVersion?: number;
}

export interface FeedResult {
  frames: number;
  /** Copies emitted over all monitor ports. */
  copies: number;
}

/** A transport that loses everything while `muted()` (a board whose image hangs). */
class MutableTransport implements ByteTransport {
  constructor(
    private readonly inner: ByteTransport,
    private readonly muted: () => boolean,
  ) {}
  write(data: Buffer): void {
    if (!this.muted()) this.inner.write(data);
  }
  onData(cb: (chunk: Buffer) => void): void {
    this.inner.onData((chunk) => {
      if (!this.muted()) cb(chunk);
    });
  }
  onClose(cb: (err?: Error) => void): void {
    this.inner.onClose(cb);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class BoardEmulator {
  readonly model: BoardModel;
  readonly server: SerialLinkServer;
  private copies = 0;
  private requests = 0;
  private readonly live: { ring: PacketRing; stop: boolean }[] = [];

  constructor(private readonly options: EmulatorOptions) {
    const outputs = options.outputs ?? new Map<number, PortOutput>();
    let server: SerialLinkServer | null = null;
    this.model = new BoardModel(options.profile, {
      factoryVersion: options.factoryVersion,
      emit: (m, frame, sec, nsec) => {
        this.copies++;
        outputs.get(m)?.write(frame, sec, nsec);
      },
      event: (op, body) => server?.sendEvent(op, body),
      restarted: (reason) => {
        if (!this.model.hung) server?.reset(reason);
      },
    });
    const faults = options.faults ?? {};
    let transport: ByteTransport = new PacedTransport(options.transport, options.baudRate);
    if (faults.dropProbability || faults.corruptProbability || faults.delayMs)
      transport = new FaultyTransport(transport, faults);
    transport = new MutableTransport(transport, () => this.model.hung);
    const every = faults.resetAfterRequests ?? 0;
    server = new SerialLinkServer(
      transport,
      (op, body) => {
        const answer = this.model.handle(op, body);
        if (every > 0 && ++this.requests % every === 0)
          setImmediate(() => this.model.restart(ResetReason.WATCHDOG));
        return answer;
      },
      { boardId: options.profile.boardId, regmapVersion: REGMAP_VERSION.word },
    );
    this.server = server;
  }

  /** Replays a capture file into ingress port `inPort` through the data path. */
  feedFile(path: string, inPort = 0): FeedResult {
    this.checkPort(inPort);
    const reader = openCaptureReader(path);
    const batch = new FrameBatch(1024);
    const before = this.copies;
    let frames = 0;
    try {
      while (reader.next(batch) > 0) {
        for (let i = 0; i < batch.count; i++) {
          const at = batch.offset[i];
          const frame = batch.buf.subarray(at, at + batch.caplen[i]);
          this.model.process(frame, inPort, batch.tsSec[i], batch.tsNsec[i]);
          frames++;
        }
      }
    } finally {
      reader.close();
    }
    this.flush();
    return { frames, copies: this.copies - before };
  }

  /** Takes frames arriving on `ifname` (AF_PACKET) into ingress port `inPort` until close(). */
  feedInterface(ifname: string, inPort = 0): void {
    this.checkPort(inPort);
    const ring = openPacketRing(ifname, { blockSize: 1 << 20, blockCount: 16, timeoutMs: 10 });
    const entry = { ring, stop: false };
    this.live.push(entry);
    const drain = (): void => {
      if (entry.stop) return;
      for (let block = nextBlock(ring, 0); block; block = nextBlock(ring, 0)) {
        for (const f of walkBlock(block))
          this.model.process(frameBytes(block, f), inPort, f.sec, f.nsec);
        releaseBlock(ring);
      }
      this.flush();
      pollRing(ring, drain);
    };
    drain();
  }

  private checkPort(inPort: number): void {
    const n = ingressPorts(this.options.profile).length;
    if (!Number.isInteger(inPort) || inPort < 0 || inPort >= n)
      throw new Error(`ingress port ${inPort}: the ${this.options.profile.id} has ${n}`);
  }

  private flush(): void {
    for (const o of this.options.outputs?.values() ?? []) o.flush();
  }

  /** Monitor port index of a port name ("mon0"), or of an index given as text. */
  monitorIndex(name: string): number {
    const i = monitorPorts(this.options.profile).findIndex((p) => p.name === name);
    if (i < 0) throw new Error(`${name} is not a monitor port of the ${this.options.profile.id}`);
    return i;
  }

  async close(): Promise<void> {
    for (const l of this.live) {
      l.stop = true;
      closeRing(l.ring);
    }
    for (const o of this.options.outputs?.values() ?? []) o.close();
    await this.server.close();
  }
}
