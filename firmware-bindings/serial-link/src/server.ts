// The board half of the serial link, for the board emulator (and a model
// of what the firmware does): answers HELLO, executes requests one at a
// time in order through a handler, remembers answers for retries, sends
// events, and resets.
import { randomInt } from 'node:crypto';
import { crc32 } from './crc32.js';
import { encodeResetEvent } from './events.js';
import {
  EventOp,
  FRAME_OVERHEAD,
  FrameDecoder,
  Kind,
  MAX_FRAME,
  Op,
  PROTOCOL_VERSION,
  ResetReason,
  Status,
  encodeFrame,
  type Frame,
} from './frame.js';
import { encodeHelloResponse } from './ops.js';
import { ReplayCache } from './replay-cache.js';
import type { ByteTransport } from './transport.js';

/** A handler's answer: status (Status) and, on OK, the result (else an optional reason). */
export interface Response {
  status: number;
  body?: Buffer;
}

export type RequestHandler = (op: number, body: Buffer) => Promise<Response> | Response;

export interface SerialLinkServerOptions {
  /** Fixed bootId (default: random, as a real board picks at each start). */
  bootId?: number;
  /** Largest decoded frame accepted and sent (default 1024, at most 1024). */
  maxFrame?: number;
  /** Requests the host may have outstanding, stated in HELLO (default 8). */
  window?: number;
  boardId: number;
  regmapVersion: number;
  /** Send a RESET event (power-on) when constructed, as a board does when it starts (default true). */
  announce?: boolean;
  /** Replay cache entries (default 64, as PROTOCOL.md says). */
  replayCache?: number;
}

export interface SerialLinkServerStats {
  /** Good request frames received, retransmissions included. */
  requests: number;
  /** Handler calls. */
  executed: number;
  /** Requests answered from the replay cache. */
  replayed: number;
  /** Retransmissions dropped because the original was still queued or running. */
  duplicates: number;
  /** Requests dropped because too many were queued. */
  overflow: number;
  crcErrors: number;
  malformed: number;
  oversize: number;
  /** Good frames other than requests. */
  unexpected: number;
  eventsSent: number;
  bytesIn: number;
  bytesOut: number;
}

interface Queued {
  frame: Frame;
  bodyCrc: number;
  key: string;
}

export class SerialLinkServer {
  private readonly decoder: FrameDecoder;
  private readonly cache: ReplayCache;
  private readonly maxFrame: number;
  private readonly window: number;
  private readonly queue: Queued[] = [];
  private readonly queueLimit: number;
  /** Keys (seq, op, body CRC) of requests queued or running. */
  private readonly pending = new Set<string>();
  private running = false;
  /** Bumped by reset() and close(): work from an older session is dropped. */
  private session = 0;
  private currentBootId: number;
  private eventSeq = 0;
  private closed = false;
  private readonly counts = {
    requests: 0,
    executed: 0,
    replayed: 0,
    duplicates: 0,
    overflow: 0,
    unexpected: 0,
    eventsSent: 0,
    bytesIn: 0,
    bytesOut: 0,
  };

  constructor(
    private readonly transport: ByteTransport,
    private readonly handler: RequestHandler,
    private readonly options: SerialLinkServerOptions,
  ) {
    this.maxFrame = Math.max(64, Math.min(MAX_FRAME, options.maxFrame ?? MAX_FRAME));
    this.window = Math.max(1, Math.min(255, options.window ?? 8));
    this.queueLimit = Math.max(64, 2 * this.window);
    this.cache = new ReplayCache(options.replayCache ?? 64);
    this.currentBootId = (options.bootId ?? randomBootId()) >>> 0;
    this.decoder = new FrameDecoder((f) => this.onFrame(f), { maxFrame: this.maxFrame });
    transport.onData((chunk) => {
      this.counts.bytesIn += chunk.length;
      this.decoder.push(chunk);
    });
    transport.onClose(() => this.stop());
    if (options.announce ?? true) {
      this.sendEvent(EventOp.RESET, encodeResetEvent(this.currentBootId, ResetReason.POWER_ON));
    }
  }

  get bootId(): number {
    return this.currentBootId;
  }

  get stats(): SerialLinkServerStats {
    const d = this.decoder.stats;
    return { ...this.counts, crcErrors: d.crcErrors, malformed: d.malformed, oversize: d.oversize };
  }

  /** Sends an event with the next event counter value. */
  sendEvent(op: number, body: Uint8Array): void {
    if (this.closed) return;
    const seq = this.eventSeq;
    this.eventSeq = (this.eventSeq + 1) & 0xffff;
    this.counts.eventsSent++;
    this.write(encodeFrame(Kind.EVENT, seq, op, body));
  }

  /**
   * Behaves as a restart: new bootId, replay cache and queued requests
   * forgotten (a running handler's answer is dropped), event counter from
   * 0, and a RESET event with `reason` (ResetReason).
   */
  reset(reason: number = ResetReason.COMMANDED): void {
    if (this.closed) return;
    this.session++;
    const old = this.currentBootId;
    do this.currentBootId = randomBootId();
    while (this.currentBootId === old);
    this.cache.clear();
    this.queue.length = 0;
    this.pending.clear();
    this.eventSeq = 0;
    this.sendEvent(EventOp.RESET, encodeResetEvent(this.currentBootId, reason));
  }

  async close(): Promise<void> {
    this.stop();
    await this.transport.close();
  }

  private stop(): void {
    this.closed = true;
    this.session++;
    this.queue.length = 0;
    this.pending.clear();
  }

  private onFrame(f: Frame): void {
    if (f.kind !== Kind.REQUEST) {
      this.counts.unexpected++;
      return;
    }
    this.counts.requests++;
    const bodyCrc = crc32(f.body);
    const key = `${f.seq}:${f.op}:${bodyCrc}`;
    if (this.pending.has(key)) {
      this.counts.duplicates++; // its answer is on its way
      return;
    }
    if (this.queue.length >= this.queueLimit) {
      this.counts.overflow++; // the host will retry
      return;
    }
    this.pending.add(key);
    this.queue.push({ frame: f, bodyCrc, key });
    void this.drain();
  }

  /** Runs queued requests one at a time, in order of arrival. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        const session = this.session;
        await this.process(item, session);
        if (session === this.session) this.pending.delete(item.key);
      }
    } finally {
      this.running = false;
    }
  }

  private async process(item: Queued, session: number): Promise<void> {
    const { seq, op, body } = item.frame;
    if (op === Op.HELLO) {
      this.answerHello(seq, body);
      return;
    }
    const cached = this.cache.get(seq, op, item.bodyCrc);
    if (cached) {
      this.counts.replayed++;
      this.write(cached);
      return;
    }
    this.counts.executed++;
    const response = await this.execute(op, body);
    if (session !== this.session) return; // reset while it ran: that answer died with the board
    const frame = this.responseFrame(seq, op, response);
    this.cache.remember(seq, op, item.bodyCrc, frame);
    this.write(frame);
  }

  /**
   * HELLO starts a host session: it is answered afresh, never from the
   * cache, and the cache is emptied so a restarted host reusing a seq
   * cannot get an answer meant for its previous life (PROTOCOL.md).
   */
  private answerHello(seq: number, body: Buffer): void {
    if (body.length < 2) {
      this.write(this.responseFrame(seq, Op.HELLO, failure(Status.BAD_REQUEST, 'HELLO body')));
      return;
    }
    this.cache.clear();
    const info = encodeHelloResponse({
      protocolVersion: PROTOCOL_VERSION,
      bootId: this.currentBootId,
      maxFrame: this.maxFrame,
      window: this.window,
      boardId: this.options.boardId,
      regmapVersion: this.options.regmapVersion,
    });
    this.write(this.responseFrame(seq, Op.HELLO, { status: Status.OK, body: info }));
  }

  private async execute(op: number, body: Buffer): Promise<Response> {
    try {
      return await this.handler(op, body);
    } catch (err) {
      return failure(Status.FAILED, err instanceof Error ? err.message : String(err));
    }
  }

  private responseFrame(seq: number, op: number, response: Response): Buffer {
    let { status, body = Buffer.alloc(0) } = response;
    if (!Number.isInteger(status) || status < 0 || status > 0xff) {
      ({ status, body } = failure(Status.FAILED, `handler returned status ${status}`));
    } else if (1 + body.length > this.maxFrame - FRAME_OVERHEAD) {
      ({ status, body } = failure(Status.FAILED, `response of ${body.length} bytes too large`));
    }
    const payload = Buffer.allocUnsafe(1 + body.length);
    payload[0] = status;
    payload.set(body, 1);
    return encodeFrame(Kind.RESPONSE, seq, op, payload);
  }

  private write(frame: Buffer): void {
    if (this.closed) return;
    this.counts.bytesOut += frame.length;
    this.transport.write(frame);
  }
}

function failure(status: number, reason: string): Required<Response> {
  return { status, body: Buffer.from(reason, 'utf8').subarray(0, 200) };
}

function randomBootId(): number {
  return randomInt(0x1_0000_0000 - 1) + 1;
}
