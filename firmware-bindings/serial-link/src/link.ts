// The host half of the serial link: requests with a window, timeouts that
// allow for the wire, retransmission with the same seq, events, resets.
import { randomInt } from 'node:crypto';
import { LinkError, type LinkErrorCode } from './errors.js';
import { parseEvent, type BoardEvent } from './events.js';
import {
  EventOp,
  FRAME_OVERHEAD,
  FrameDecoder,
  Kind,
  MAX_FRAME,
  MIN_FRAME,
  Op,
  PROTOCOL_VERSION,
  Status,
  encodeFrame,
  statusName,
  wireLength,
  type Frame,
} from './frame.js';
import {
  MAX_READ_COUNTERS,
  MAX_READ_REGS,
  TABLE_WRITE_HEADER,
  decodeHelloResponse,
  decodeTableWritten,
  describeRequest,
  encodeHelloRequest,
  encodeReadCounters,
  encodeReadRegs,
  encodeTableRead,
  encodeTableWrite,
  encodeWriteRegs,
  expectedResponseLength,
  type HelloInfo,
} from './ops.js';
import { BITS_PER_BYTE } from './paced-transport.js';
import type { ByteTransport } from './transport.js';

export interface SerialLinkOptions {
  /** The line's speed; timeouts allow for the time bytes take on it. */
  baudRate: number;
  /** Base time to wait for a response, on top of wire time (default 200 ms). */
  timeoutMs?: number;
  /** Attempts per request, the first one included (default 5). */
  retries?: number;
  /** Requests outstanding at most (default 4); HELLO lowers it to the board's. */
  window?: number;
  /** Largest decoded frame (default and upper bound 1024); HELLO lowers it to the board's. */
  maxFrame?: number;
}

export interface SerialLinkStats {
  /** Requests sent (not counting retransmissions). */
  requests: number;
  /** Retransmissions. */
  retries: number;
  /** Requests failed with 'timeout'. */
  timeouts: number;
  crcErrors: number;
  /** Frames that were not COBS, too short, of unknown kind, or with a bad body. */
  malformed: number;
  oversize: number;
  /** Good frames nobody waited for: late duplicates, unknown seq or event op. */
  unexpected: number;
  /** Board resets seen (RESET events and changed bootIds). */
  resets: number;
  eventsMissed: number;
  bytesOut: number;
  bytesIn: number;
}

/** A request from the call to its answer. `seq`, `frame` etc. are set once sent. */
interface Pending {
  op: number;
  body: Buffer;
  /** HELLO waits for the line to drain and holds the queue until answered. */
  barrier: boolean;
  /** OK body (after the status byte); called synchronously on arrival. */
  accept(body: Buffer): void;
  fail(err: Error): void;
  seq: number;
  frame: Buffer;
  attempts: number;
  /** Order of its first and of its latest transmission among all transmissions. */
  firstSentOrder: number;
  sentOrder: number;
  /** Wire bytes of its expected response. */
  responseBytes: number;
  timer: NodeJS.Timeout | undefined;
}

const FLUSH = Buffer.from([0]);

export class SerialLink {
  private readonly decoder: FrameDecoder;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly ownWindow: number;
  private readonly ownMaxFrame: number;
  private readonly byteMs: number;
  private window: number;
  private maxFrame: number;
  private readonly queue: Pending[] = [];
  /** Sent and unanswered, in order of first transmission. */
  private readonly inflight = new Map<number, Pending>();
  private barrier: Pending | undefined;
  // Random start: a restarted host is unlikely to reuse a seq the board remembers.
  private nextSeq = randomInt(0x10000);
  private sendCounter = 0;
  /** When the bytes written so far will have left, by the wire's speed. */
  private lineFreeAt = 0;
  private flushed = false;
  private closed = false;
  private bootId: number | undefined;
  private eventSeq: number | undefined;
  private readonly listeners: ((e: BoardEvent) => void)[] = [];
  private readonly counts = {
    requests: 0,
    retries: 0,
    timeouts: 0,
    malformed: 0,
    unexpected: 0,
    resets: 0,
    eventsMissed: 0,
    bytesOut: 0,
    bytesIn: 0,
  };

  constructor(
    private readonly transport: ByteTransport,
    options: SerialLinkOptions,
  ) {
    if (!(options.baudRate > 0)) throw new RangeError(`baudRate must be positive`);
    this.timeoutMs = options.timeoutMs ?? 200;
    this.attempts = Math.max(1, options.retries ?? 5);
    this.ownWindow = Math.max(1, Math.min(255, options.window ?? 4));
    this.ownMaxFrame = Math.max(64, Math.min(MAX_FRAME, options.maxFrame ?? MAX_FRAME));
    this.window = this.ownWindow;
    this.maxFrame = this.ownMaxFrame;
    this.byteMs = (BITS_PER_BYTE * 1000) / options.baudRate;
    this.decoder = new FrameDecoder((f) => this.onFrame(f), { maxFrame: this.ownMaxFrame });
    transport.onData((chunk) => {
      this.counts.bytesIn += chunk.length;
      this.decoder.push(chunk);
    });
    transport.onClose((err) => this.shutdown(err ? `transport closed: ${err.message}` : 'closed'));
  }

  /** Largest data one TABLE_WRITE or TABLE_READ can carry with the current frame size. */
  get maxTableChunk(): number {
    return this.maxFrame - FRAME_OVERHEAD - TABLE_WRITE_HEADER;
  }

  /** The window and frame size in use (after HELLO, the smaller of ours and the board's). */
  get limits(): { window: number; maxFrame: number } {
    return { window: this.window, maxFrame: this.maxFrame };
  }

  get missedEvents(): number {
    return this.counts.eventsMissed;
  }

  get stats(): SerialLinkStats {
    const d = this.decoder.stats;
    return {
      ...this.counts,
      crcErrors: d.crcErrors,
      malformed: d.malformed + this.counts.malformed,
      oversize: d.oversize,
    };
  }

  /** Calls `cb` for every board event; returns a function that stops it. */
  onEvent(cb: (e: BoardEvent) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Starts a session: sent once nothing else is outstanding, and nothing
   * else is sent until it is answered. Adopts the board's window and frame
   * size; a bootId other than the last one seen counts as a board reset.
   */
  hello(): Promise<HelloInfo> {
    return new Promise<HelloInfo>((resolve, reject) => {
      const accept = (body: Buffer): void => {
        const info = decodeHelloResponse(body);
        if (typeof info === 'string') return reject(this.error(Op.HELLO, body, 'protocol', info));
        if (info.protocolVersion !== PROTOCOL_VERSION || info.window < 1 || info.maxFrame < 64) {
          const why = `board speaks version ${info.protocolVersion}, window ${info.window}, maxFrame ${info.maxFrame}`;
          return reject(this.error(Op.HELLO, body, 'protocol', why));
        }
        this.adopt(info);
        resolve(info);
      };
      this.enqueue(Op.HELLO, encodeHelloRequest(), true, accept, reject);
    });
  }

  /**
   * Sends one request; resolves with the OK response's body after the
   * status byte. Rejects with a LinkError (see LinkErrorCode).
   */
  request(op: number, body: Uint8Array): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.enqueue(op, Buffer.from(body), false, resolve, reject);
    });
  }

  async readRegs(address: number, count: number): Promise<Uint32Array> {
    checkAddress(address);
    const most = Math.min(MAX_READ_REGS, Math.floor((this.maxBody - 1) / 4));
    checkCount('READ_REGS count', count, most);
    const body = encodeReadRegs(address, count);
    const res = await this.request(Op.READ_REGS, body);
    this.expectLength(Op.READ_REGS, body, res, 4 * count);
    const values = new Uint32Array(count);
    for (let i = 0; i < count; i++) values[i] = res.readUInt32LE(4 * i);
    return values;
  }

  async writeRegs(address: number, values: ArrayLike<number>): Promise<void> {
    checkAddress(address);
    checkCount('WRITE_REGS count', values.length, Math.floor((this.maxBody - 4) / 4));
    for (let i = 0; i < values.length; i++) checkU32('register value', values[i]);
    await this.request(Op.WRITE_REGS, encodeWriteRegs(address, values));
  }

  /** Writes `data` at byte `offset` of `table` in one frame (RangeError if it does not fit). */
  async tableWrite(table: number, offset: number, data: Uint8Array): Promise<void> {
    checkTable(table, offset);
    if (data.length > this.maxTableChunk) {
      throw new RangeError(`TABLE_WRITE of ${data.length} bytes exceeds ${this.maxTableChunk}`);
    }
    const body = encodeTableWrite(table, offset, data);
    const res = await this.request(Op.TABLE_WRITE, body);
    const written = decodeTableWritten(res);
    if (
      typeof written === 'string' ||
      written.offset !== offset ||
      written.length !== data.length
    ) {
      const got =
        typeof written === 'string' ? written : `wrote ${written.length} at ${written.offset}`;
      throw this.error(Op.TABLE_WRITE, body, 'protocol', `unexpected response: ${got}`);
    }
  }

  async tableRead(table: number, offset: number, length: number): Promise<Buffer> {
    checkTable(table, offset);
    checkCount('TABLE_READ length', length, this.maxTableChunk);
    const body = encodeTableRead(table, offset, length);
    const res = await this.request(Op.TABLE_READ, body);
    this.expectLength(Op.TABLE_READ, body, res, length);
    return res;
  }

  async readCounters(block: number, first: number, count: number): Promise<bigint[]> {
    if (!isInt(block, 0xff) || !isInt(first, 0xffff)) {
      throw new RangeError(`READ_COUNTERS block ${block} first ${first} out of range`);
    }
    const most = Math.min(MAX_READ_COUNTERS, Math.floor((this.maxBody - 1) / 8));
    checkCount('READ_COUNTERS count', count, most);
    const body = encodeReadCounters(block, first, count);
    const res = await this.request(Op.READ_COUNTERS, body);
    this.expectLength(Op.READ_COUNTERS, body, res, 8 * count);
    const out: bigint[] = [];
    for (let i = 0; i < count; i++) out.push(res.readBigUInt64LE(8 * i));
    return out;
  }

  /** Echo: resolves with what the board sent back. */
  async ping(data: Uint8Array): Promise<Buffer> {
    checkCount('PING length', data.length, this.maxBody - 1, 0);
    return this.request(Op.PING, data);
  }

  /** Fails everything pending with 'closed' and closes the transport. */
  async close(): Promise<void> {
    this.shutdown('closed');
    await this.transport.close();
  }

  private get maxBody(): number {
    return this.maxFrame - FRAME_OVERHEAD;
  }

  private enqueue(
    op: number,
    body: Buffer,
    barrier: boolean,
    accept: (body: Buffer) => void,
    fail: (err: Error) => void,
  ): void {
    if (this.closed) return fail(this.error(op, body, 'closed', 'link closed'));
    if (body.length > this.maxBody) {
      return fail(new RangeError(`${describeRequest(op, body)}: body exceeds ${this.maxBody}`));
    }
    const responseBytes = wireLength(expectedResponseLength(op, body));
    this.queue.push({ op, body, barrier, accept, fail, responseBytes, ...unsent() });
    this.pump();
  }

  /** Sends queued requests while the window (and any HELLO barrier) allows. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed && this.barrier === undefined) {
      const next = this.queue[0];
      const busy = next.barrier ? this.inflight.size > 0 : this.inflight.size >= this.window;
      if (busy) return;
      this.queue.shift();
      this.send(next);
    }
  }

  private send(p: Pending): void {
    if (p.body.length > this.maxBody) {
      // The board's frame size, learnt since this was queued, is too small for it.
      p.fail(new RangeError(`${describeRequest(p.op, p.body)}: body exceeds ${this.maxBody}`));
      return;
    }
    p.seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    p.frame = encodeFrame(Kind.REQUEST, p.seq, p.op, p.body);
    this.inflight.set(p.seq, p);
    if (p.barrier) this.barrier = p;
    this.counts.requests++;
    // The first frame ever goes after a lone 0x00, flushing any half frame.
    this.transmit(p, !this.flushed);
  }

  private transmit(p: Pending, flush: boolean): void {
    this.flushed = true;
    p.attempts++;
    p.sentOrder = ++this.sendCounter;
    if (p.attempts === 1) p.firstSentOrder = p.sentOrder;
    this.write(flush ? Buffer.concat([FLUSH, p.frame]) : p.frame);
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.onTimeout(p), this.attemptTimeout(p));
  }

  /**
   * Base timeout plus what the wire needs: the bytes written so far
   * (this frame last), then the responses to every request sent up to this
   * one, which the board answers in order.
   */
  private attemptTimeout(p: Pending): number {
    let responses = 0;
    for (const q of this.inflight.values())
      if (q.sentOrder <= p.sentOrder) responses += q.responseBytes;
    const outgoing = Math.max(0, this.lineFreeAt - performance.now());
    return this.timeoutMs + outgoing + responses * this.byteMs;
  }

  private write(data: Buffer): void {
    const now = performance.now();
    this.lineFreeAt = Math.max(now, this.lineFreeAt) + data.length * this.byteMs;
    this.counts.bytesOut += data.length;
    this.transport.write(data);
  }

  private onTimeout(p: Pending): void {
    p.timer = undefined;
    if (this.inflight.get(p.seq) !== p) return;
    if (p.attempts < this.attempts) {
      this.counts.retries++;
      this.transmit(p, true);
      return;
    }
    this.counts.timeouts++;
    this.settle(p);
    p.fail(this.error(p.op, p.body, 'timeout', `no response after ${p.attempts} attempts`));
    this.pump();
  }

  /** Takes `p` out of the in-flight set. */
  private settle(p: Pending): void {
    clearTimeout(p.timer);
    p.timer = undefined;
    this.inflight.delete(p.seq);
    if (this.barrier === p) this.barrier = undefined;
  }

  private onFrame(f: Frame): void {
    if (f.kind === Kind.RESPONSE) this.onResponse(f);
    else if (f.kind === Kind.EVENT) this.onBoardEvent(f);
    else this.counts.unexpected++; // a request: an echoing line, or a confused board
  }

  private onResponse(f: Frame): void {
    const p = this.inflight.get(f.seq);
    if (!p || p.op !== f.op) {
      this.counts.unexpected++; // the answer to a retransmission already answered, most often
      return;
    }
    this.settle(p);
    this.resendOvertaken(p);
    this.complete(p, f.body);
    this.pump();
  }

  /**
   * The board answers in order of arrival, so a request last sent before
   * `p` was first sent, and still unanswered, was lost, or its answer was:
   * resend it now rather than at its timeout (the replay cache makes that
   * harmless). `p`'s first sending counts because the answer may be to it.
   */
  private resendOvertaken(p: Pending): void {
    for (const q of this.inflight.values()) {
      if (q.sentOrder < p.firstSentOrder && q.attempts < this.attempts) {
        this.counts.retries++;
        this.transmit(q, true);
      }
    }
  }

  private complete(p: Pending, body: Buffer): void {
    if (body.length === 0) {
      this.counts.malformed++;
      p.fail(this.error(p.op, p.body, 'protocol', 'response without a status'));
      return;
    }
    const status = body[0];
    if (status === Status.OK) {
      p.accept(body.subarray(1));
      return;
    }
    const reason = body
      .subarray(1)
      .toString('utf8')
      .replace(/[^\x20-\x7e]/g, '?');
    const what = reason ? `${statusName(status)}: ${reason}` : statusName(status);
    p.fail(this.error(p.op, p.body, 'status', what, status));
  }

  private onBoardEvent(f: Frame): void {
    const isReset = f.op === EventOp.RESET;
    if (!isReset) this.countGap(f.seq);
    // After a reset the board's event counter starts afresh.
    this.eventSeq = f.seq;
    const event = parseEvent(f.op, f.seq, f.body);
    if (typeof event === 'string') {
      if (f.op >= EventOp.RESET && f.op <= EventOp.FIRMWARE) this.counts.malformed++;
      else this.counts.unexpected++;
      return;
    }
    if (event.type === 'reset' && event.bootId !== this.bootId) {
      this.bootId = event.bootId;
      this.boardReset(event);
      return;
    }
    this.emit(event);
  }

  private countGap(seq: number): void {
    if (this.eventSeq === undefined) return;
    const missed = (seq - this.eventSeq - 1) & 0xffff;
    // A "gap" of more than half the counter is a repeat or reordering, not loss.
    if (missed < 0x8000) this.counts.eventsMissed += missed;
  }

  private adopt(info: HelloInfo): void {
    this.window = Math.max(1, Math.min(this.ownWindow, info.window));
    this.maxFrame = Math.max(MIN_FRAME, Math.min(this.ownMaxFrame, info.maxFrame));
    const previous = this.bootId;
    this.bootId = info.bootId;
    if (previous !== undefined && previous !== info.bootId) {
      this.eventSeq = undefined;
      const reasonName = 'unknown (new bootId in HELLO)';
      this.boardReset({ type: 'reset', seq: null, bootId: info.bootId, reason: null, reasonName });
    }
  }

  /** The board restarted: whatever it was doing for us is gone. */
  private boardReset(event: BoardEvent & { type: 'reset' }): void {
    this.counts.resets++;
    const why = `board reset (bootId 0x${event.bootId.toString(16).padStart(8, '0')})`;
    this.failAll('reset', why);
    this.emit(event);
  }

  private failAll(code: LinkErrorCode, why: string): void {
    const pending = [...this.inflight.values(), ...this.queue];
    for (const p of this.inflight.values()) clearTimeout(p.timer);
    this.inflight.clear();
    this.queue.length = 0;
    this.barrier = undefined;
    for (const p of pending) p.fail(this.error(p.op, p.body, code, why));
  }

  private shutdown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll('closed', `link ${why}`);
  }

  private emit(event: BoardEvent): void {
    for (const cb of [...this.listeners]) {
      try {
        cb(event);
      } catch (err) {
        // A listener's bug must not stop frame processing; surface it on its own.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private expectLength(op: number, body: Buffer, res: Buffer, length: number): void {
    if (res.length !== length) {
      throw this.error(op, body, 'protocol', `response of ${res.length} bytes, expected ${length}`);
    }
  }

  private error(
    op: number,
    body: Buffer,
    code: LinkErrorCode,
    why: string,
    status?: number,
  ): LinkError {
    return new LinkError(`${describeRequest(op, body)}: ${why}`, code, op, status);
  }
}

function unsent(): Pick<
  Pending,
  'seq' | 'frame' | 'attempts' | 'firstSentOrder' | 'sentOrder' | 'timer'
> {
  return { seq: -1, frame: FLUSH, attempts: 0, firstSentOrder: 0, sentOrder: 0, timer: undefined };
}

function isInt(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function checkAddress(address: number): void {
  if (!isInt(address, 0xffffffff) || address % 4 !== 0) {
    throw new RangeError(`register address ${address} is not a 32-bit multiple of 4`);
  }
}

function checkU32(what: string, v: number): void {
  if (!isInt(v, 0xffffffff)) throw new RangeError(`${what} ${v} is not a 32-bit unsigned integer`);
}

function checkCount(what: string, n: number, max: number, min = 1): void {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${what} ${n} outside ${min}..${max}`);
  }
}

function checkTable(table: number, offset: number): void {
  if (!isInt(table, 0xff) || !isInt(offset, 0xffffffff)) {
    throw new RangeError(`table ${table} offset ${offset} out of range`);
  }
}
