// The board half on its own, driven with raw frames over an in-memory pair.
import { describe, expect, it } from 'vitest';
import {
  EventOp,
  FrameDecoder,
  Kind,
  MAX_BODY,
  Op,
  Status,
  encodeFrame,
  type Frame,
} from './frame.js';
import { ReplayCache } from './replay-cache.js';
import { SerialLinkServer, type Response } from './server.js';
import { createMemoryPair } from './testing/index.js';
import type { ByteTransport } from './transport.js';

/** A host end that sends raw frames and collects what comes back. */
function rawHost(t: ByteTransport): {
  frames: Frame[];
  send(seq: number, op: number, body: Buffer): void;
  next(n: number): Promise<Frame[]>;
} {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((f) => frames.push(f));
  t.onData((c) => decoder.push(c));
  return {
    frames,
    send: (seq, op, body) => t.write(encodeFrame(Kind.REQUEST, seq, op, body)),
    async next(n) {
      for (let i = 0; i < 200 && frames.length < n; i++) await new Promise((r) => setTimeout(r, 2));
      return frames.splice(0, n);
    },
  };
}

function setup(handler: (op: number, body: Buffer) => Promise<Response> | Response) {
  const [hostEnd, boardEnd] = createMemoryPair();
  const host = rawHost(hostEnd);
  const server = new SerialLinkServer(boardEnd, handler, {
    boardId: 1,
    regmapVersion: 2,
    bootId: 0x1234,
    announce: false,
  });
  return { host, server };
}

describe('ReplayCache', () => {
  it('keeps the last 64 distinct seqs and matches on op and body CRC too', () => {
    const cache = new ReplayCache(64);
    for (let seq = 0; seq < 70; seq++) cache.remember(seq, Op.PING, 100 + seq, Buffer.of(seq));
    expect(cache.size).toBe(64);
    expect(cache.get(5, Op.PING, 105)).toBeUndefined();
    expect(cache.get(6, Op.PING, 106)).toEqual(Buffer.of(6));
    expect(cache.get(6, Op.PING, 999)).toBeUndefined();
    expect(cache.get(6, Op.WRITE_REGS, 106)).toBeUndefined();
    cache.remember(6, Op.PING, 999, Buffer.of(0xee)); // reused seq: replaced, now newest
    for (let seq = 70; seq < 133; seq++) cache.remember(seq, Op.PING, 100 + seq, Buffer.of(seq));
    expect(cache.get(6, Op.PING, 999)).toEqual(Buffer.of(0xee));
    expect(cache.get(7, Op.PING, 107)).toBeUndefined();
  });
});

describe('SerialLinkServer', () => {
  it('executes a request once and answers its retransmissions from the cache', async () => {
    let runs = 0;
    const { host, server } = setup(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { status: Status.OK, body: Buffer.of(++runs) };
    });
    host.send(9, Op.PING, Buffer.of(1));
    host.send(9, Op.PING, Buffer.of(1)); // a retry while the first is queued: dropped
    const [first] = await host.next(1);
    host.send(9, Op.PING, Buffer.of(1)); // a retry after the answer: replayed
    const [again] = await host.next(1);
    host.send(9, Op.PING, Buffer.of(2)); // same seq, other body: a new request
    const [other] = await host.next(1);
    expect([first, again, other].map((f) => [f.seq, f.op, f.body.toString('hex')])).toEqual([
      [9, Op.PING, '0001'],
      [9, Op.PING, '0001'],
      [9, Op.PING, '0002'],
    ]);
    expect(server.stats).toMatchObject({ requests: 4, executed: 2, replayed: 1, duplicates: 1 });
  });

  it('forgets answers after 64 newer seqs, and at HELLO', async () => {
    let runs = 0;
    const { host } = setup(() => ({ status: Status.OK, body: Buffer.of(++runs) }));
    for (let seq = 0; seq <= 64; seq++) host.send(seq, Op.WRITE_REGS, Buffer.alloc(8));
    await host.next(65);
    host.send(1, Op.WRITE_REGS, Buffer.alloc(8)); // still remembered
    host.send(0, Op.WRITE_REGS, Buffer.alloc(8)); // evicted: runs again
    expect((await host.next(2)).map((f) => f.body[1])).toEqual([2, 66]);
    host.send(100, Op.HELLO, Buffer.of(1, 0));
    const [hello] = await host.next(1);
    expect(hello.body.readUInt32LE(3)).toBe(0x1234);
    host.send(1, Op.WRITE_REGS, Buffer.alloc(8)); // HELLO emptied the cache
    expect((await host.next(1))[0].body[1]).toBe(67);
  });

  it('answers HELLO itself', async () => {
    const { host } = setup(() => ({ status: Status.UNKNOWN_OP }));
    host.send(3, Op.HELLO, Buffer.of(1, 0));
    const [f] = await host.next(1);
    expect(f.body.toString('hex')).toBe(
      '00' + '0100' + '34120000' + '0004' + '08' + '01000000' + '02000000',
    );
    host.send(4, Op.HELLO, Buffer.of());
    expect((await host.next(1))[0].body[0]).toBe(Status.BAD_REQUEST);
  });

  it('runs one request at a time, in order of arrival', async () => {
    const log: string[] = [];
    const { host } = setup(async (_op, body) => {
      log.push(`start ${body[0]}`);
      await new Promise((r) => setTimeout(r, 5 - body[0]));
      log.push(`end ${body[0]}`);
      return { status: Status.OK };
    });
    for (let i = 0; i < 4; i++) host.send(i, Op.PING, Buffer.of(i));
    expect((await host.next(4)).map((f) => f.seq)).toEqual([0, 1, 2, 3]);
    expect(log).toEqual([
      'start 0',
      'end 0',
      'start 1',
      'end 1',
      'start 2',
      'end 2',
      'start 3',
      'end 3',
    ]);
  });

  it('turns handler failures into FAILED answers and never crashes', async () => {
    const { host, server } = setup((op) => {
      if (op === 0x10) throw new Error('boom');
      if (op === 0x11) return Promise.reject(new Error('async boom'));
      if (op === 0x12) return { status: 300 };
      return { status: Status.OK, body: Buffer.alloc(MAX_BODY) }; // one byte too many with the status
    });
    for (const op of [0x10, 0x11, 0x12, 0x13]) host.send(op, op, Buffer.of());
    const answers = await host.next(4);
    expect(answers.map((f) => [f.body[0], f.body.subarray(1).toString()])).toEqual([
      [Status.FAILED, 'boom'],
      [Status.FAILED, 'async boom'],
      [Status.FAILED, 'handler returned status 300'],
      [Status.FAILED, 'response of 1016 bytes too large'],
    ]);
    expect(server.stats.executed).toBe(4);
  });

  it('sends events with their own counter, and a reset restarts it with a new bootId', async () => {
    const { host, server } = setup(() => ({ status: Status.OK }));
    server.sendEvent(EventOp.LINK, Buffer.of(0, 1, 0, 0, 0, 0));
    server.sendEvent(EventOp.LINK, Buffer.of(0, 0, 0, 0, 0, 0));
    server.reset(1);
    const events = await host.next(3);
    expect(events.map((f) => [f.kind, f.seq, f.op])).toEqual([
      [Kind.EVENT, 0, EventOp.LINK],
      [Kind.EVENT, 1, EventOp.LINK],
      [Kind.EVENT, 0, EventOp.RESET],
    ]);
    expect(server.bootId).not.toBe(0x1234);
    expect(events[2].body.readUInt32LE(0)).toBe(server.bootId);
    expect(events[2].body[4]).toBe(1);
  });

  it('drops the answer of a request that was running when the board reset', async () => {
    let release: () => void = () => undefined;
    const { host, server } = setup(
      () => new Promise<Response>((resolve) => (release = () => resolve({ status: Status.OK }))),
    );
    host.send(1, Op.PING, Buffer.of());
    await new Promise((r) => setTimeout(r, 5));
    server.reset(2);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(host.frames.map((f) => f.kind)).toEqual([Kind.EVENT]);
  });
});
