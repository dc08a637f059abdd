// Host and board over a real pty pair: the normal paths.
import { describe, expect, it } from 'vitest';
import { LinkError } from './errors.js';
import { encodeFirmwareEvent, encodeLinkEvent, encodeOverflowEvent } from './events.js';
import { EventOp, Status } from './frame.js';
import { SerialLink } from './link.js';
import { SerialLinkServer } from './server.js';
import { BAD_REGION, FakeBoard, counterValue, within, withRig } from './testdata/rig.js';
import { createMemoryPair } from './testing/index.js';

describe('SerialLink over a pty pair', () => {
  it('says HELLO and adopts the smaller window and frame size', async () => {
    await withRig(
      { link: { window: 4 }, server: { window: 2, maxFrame: 512 } },
      async ({ link, server, events }) => {
        expect(events).toEqual([
          { type: 'reset', seq: 0, bootId: server.bootId, reason: 0, reasonName: 'POWER_ON' },
        ]);
        expect(link.maxTableChunk).toBe(1024 - 8 - 5);
        const info = await within(link.hello(), 2000, 'hello');
        expect(info).toEqual({
          protocolVersion: 1,
          bootId: server.bootId,
          maxFrame: 512,
          window: 2,
          boardId: 0xb0a4d,
          regmapVersion: 3,
        });
        expect(link.limits).toEqual({ window: 2, maxFrame: 512 });
        expect(link.maxTableChunk).toBe(512 - 8 - 5);
        await expect(link.tableWrite(1, 0, Buffer.alloc(500))).rejects.toThrow(RangeError);
        await link.tableWrite(1, 0, Buffer.alloc(499, 7));
        expect(events).toHaveLength(1);
      },
    );
  });

  it('writes and reads registers, and reports a bad status with its reason', async () => {
    await withRig({}, async ({ link, board }) => {
      await link.hello();
      await link.writeRegs(0x100, [1, 0xffffffff, 0x12345678]);
      expect(Array.from(await link.readRegs(0x100, 4))).toEqual([1, 0xffffffff, 0x12345678, 0]);
      expect(board.executions.get('write:256')).toBe(1);

      const err = (await link.readRegs(BAD_REGION, 1).catch((e: unknown) => e)) as LinkError;
      expect(err).toBeInstanceOf(LinkError);
      expect(err.code).toBe('status');
      expect(err.status).toBe(Status.BAD_ADDRESS);
      expect(err.message).toBe('READ_REGS 0x0000f000 count 1: BAD_ADDRESS: no such register');

      await expect(link.request(0x42, Buffer.of(1))).rejects.toMatchObject({
        code: 'status',
        status: Status.UNKNOWN_OP,
        message: '0x42: UNKNOWN_OP: op 66',
      });
      await expect(link.readRegs(0x102, 1)).rejects.toThrow(RangeError);
      await expect(link.readRegs(0, 241)).rejects.toThrow(RangeError);
      await expect(link.writeRegs(0, [2 ** 32])).rejects.toThrow(RangeError);
      expect((await link.ping(Buffer.from('echo'))).toString()).toBe('echo');
    });
  });

  it('writes and reads back a table in many chunks, 4 outstanding, without spurious retries', async () => {
    // At 230400 baud four queued 1 KB frames take 180 ms on the wire, nearly
    // twice the base timeout: the timeout must allow for it.
    await withRig(
      { baudRate: 230400, link: { timeoutMs: 100, window: 4 } },
      async ({ link, board, spy }) => {
        await link.hello();
        const chunk = link.maxTableChunk;
        const data = Buffer.from(
          Array.from({ length: 12 * chunk }, (_, i) => (i * 131 + (i >> 8)) & 0xff),
        );
        const t0 = performance.now();
        const writes: Promise<void>[] = [];
        for (let at = 0; at < data.length; at += chunk) {
          writes.push(link.tableWrite(1, 4096 + at, data.subarray(at, at + chunk)));
        }
        await within(Promise.all(writes), 5000, 'table writes');
        const reads: Promise<Buffer>[] = [];
        for (let at = 0; at < data.length; at += chunk)
          reads.push(link.tableRead(1, 4096 + at, chunk));
        const back = Buffer.concat(await within(Promise.all(reads), 5000, 'table reads'));
        const elapsed = performance.now() - t0;

        expect(back.equals(data)).toBe(true);
        expect(board.table.subarray(4096, 4096 + data.length).equals(data)).toBe(true);
        expect(spy.maxOutstanding).toBe(4);
        expect(link.stats.retries).toBe(0);
        expect([...board.executions.values()].every((n) => n === 1)).toBe(true);
        // Both legs carry ~12 KB: ~0.54 s each at 230400 baud; pipelining keeps it near that.
        expect(elapsed).toBeGreaterThan(1000);
        expect(elapsed).toBeLessThan(3000);
      },
    );
  });

  it('reads counters as exact 64-bit values', async () => {
    await withRig({}, async ({ link }) => {
      await link.hello();
      const values = await link.readCounters(2, 10, 120);
      expect(values).toHaveLength(120);
      values.forEach((v, i) => expect(v).toBe(counterValue(2, 10 + i)));
      expect(values[0] > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
      await expect(link.readCounters(2, 0, 121)).rejects.toThrow(RangeError);
    });
  });

  it('delivers events parsed, and counts the ones it missed', async () => {
    await withRig({}, async ({ link, server, faults, events }) => {
      const three = new Promise<void>((resolve) =>
        link.onEvent(() => {
          if (events.length === 4) resolve();
        }),
      );
      server.sendEvent(EventOp.LINK, encodeLinkEvent(2, true, 25000));
      server.sendEvent(EventOp.OVERFLOW, encodeOverflowEvent(1, 4242));
      server.sendEvent(EventOp.FIRMWARE, encodeFirmwareEvent(3, 0xdead));
      await within(three, 2000, 'three events');
      expect(events.slice(1)).toEqual([
        { type: 'link', seq: 1, port: 2, up: true, speedMbps: 25000 },
        { type: 'overflow', seq: 2, port: 1, framesLost: 4242 },
        { type: 'firmware', seq: 3, state: 3, detail: 0xdead },
      ]);
      expect(link.missedEvents).toBe(0);

      faults.configure({ dropProbability: 1, direction: 'out' });
      server.sendEvent(EventOp.LINK, encodeLinkEvent(2, false, 0));
      server.sendEvent(EventOp.LINK, encodeLinkEvent(2, true, 25000));
      faults.configure({ dropProbability: 0 });
      const next = new Promise<void>((resolve) => link.onEvent(() => resolve()));
      server.sendEvent(EventOp.OVERFLOW, encodeOverflowEvent(0, 1));
      await within(next, 2000, 'event after the gap');
      expect(events[events.length - 1]).toMatchObject({ type: 'overflow', seq: 6 });
      expect(link.missedEvents).toBe(2);
      expect(link.stats.eventsMissed).toBe(2);
    });
  });
});

describe('SerialLink sequence numbers', () => {
  it('wrap from 0xffff to 0 without confusion', async () => {
    const [hostEnd, boardEnd] = createMemoryPair();
    const link = new SerialLink(hostEnd, { baudRate: 921600 });
    const server = new SerialLinkServer(boardEnd, new FakeBoard().handle, {
      boardId: 1,
      regmapVersion: 1,
      announce: false, // its RESET would fail requests already sent
    });
    try {
      (link as unknown as { nextSeq: number }).nextSeq = 0xfffd;
      const echoes = await within(
        Promise.all(Array.from({ length: 8 }, (_, i) => link.ping(Buffer.of(i)))),
        2000,
        'pings',
      );
      expect(echoes.map((b) => b[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(link.stats).toMatchObject({ requests: 8, retries: 0, unexpected: 0 });
    } finally {
      await link.close();
      await server.close();
    }
  });
});
