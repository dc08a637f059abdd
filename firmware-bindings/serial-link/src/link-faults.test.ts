// Host and board over a real pty pair: lost and damaged bytes, silence,
// resets, garbage, closing.
import { describe, expect, it } from 'vitest';
import { LinkError } from './errors.js';
import { EventOp, Kind, Op, ResetReason, encodeFrame } from './frame.js';
import { within, withRig } from './testdata/rig.js';

const settle = <T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> => Promise.allSettled(ps);

describe('SerialLink faults', () => {
  it('completes every request through 1% damaged or lost bytes both ways, each write executed once', async () => {
    await withRig(
      { link: { timeoutMs: 20, retries: 20, window: 4 } },
      async ({ link, server, board, faults }) => {
        await link.hello();
        faults.configure({
          seed: 7,
          dropProbability: 0.005,
          corruptProbability: 0.005,
          direction: 'both',
        });
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 150; i++) writes.push(link.writeRegs(0x1000 + 4 * i, [i * 3 + 1]));
        for (let i = 0; i < 20; i++)
          writes.push(link.tableWrite(1, 64 * i, Buffer.alloc(48, i + 1)));
        await within(Promise.all(writes), 10_000, 'writes through faults');
        const stats = link.stats;
        // Read back with faults off: a 600-byte answer rarely survives 1% bad bytes.
        faults.configure({ dropProbability: 0, corruptProbability: 0 });
        const regs = await within(link.readRegs(0x1000, 150), 2000, 'read back');

        expect(Array.from(regs)).toEqual(Array.from({ length: 150 }, (_, i) => i * 3 + 1));
        for (let i = 0; i < 150; i++)
          expect(board.executions.get(`write:${0x1000 + 4 * i}`), `reg ${i}`).toBe(1);
        for (let i = 0; i < 20; i++) {
          expect(board.executions.get(`table:${64 * i}`), `chunk ${i}`).toBe(1);
          expect(board.table.subarray(64 * i, 64 * i + 48).equals(Buffer.alloc(48, i + 1))).toBe(
            true,
          );
        }
        expect(faults.stats.dropped + faults.stats.corrupted).toBeGreaterThan(20);
        expect(stats.retries).toBeGreaterThan(0);
        expect(stats.timeouts).toBe(0);
        expect(
          stats.crcErrors + stats.malformed + server.stats.crcErrors + server.stats.malformed,
        ).toBeGreaterThan(0);
        // Some answers were lost and resent from the replay cache, not executed again.
        expect(server.stats.replayed + server.stats.duplicates).toBeGreaterThan(0);
      },
    );
  });

  it('fails a request nobody answers with a timeout naming it, in bounded time', async () => {
    await withRig({ link: { timeoutMs: 40 } }, async ({ link, server, board, faults }) => {
      await link.hello();
      faults.configure({ dropProbability: 1, direction: 'out' }); // the board hears but is not heard
      const t0 = performance.now();
      const err = (await within(
        link.tableWrite(1, 4096, Buffer.alloc(16, 1)).catch((e: unknown) => e),
        3000,
        'timeout',
      )) as LinkError;
      const elapsed = performance.now() - t0;
      expect(err).toBeInstanceOf(LinkError);
      expect(err.code).toBe('timeout');
      expect(err.op).toBe(Op.TABLE_WRITE);
      expect(err.message).toBe('TABLE_WRITE table 1 offset 4096: no response after 5 attempts');
      expect(elapsed).toBeGreaterThanOrEqual(5 * 40 - 5); // timers may fire a hair early
      expect(elapsed).toBeLessThan(1000);
      expect(link.stats).toMatchObject({ requests: 2, retries: 4, timeouts: 1 });
      // Executed once; the four retries were answered from the replay cache
      // (or dropped, had one come while the original was still running).
      expect(board.executions.get('table:4096')).toBe(1);
      expect(server.stats.replayed + server.stats.duplicates).toBe(4);
    });
  });

  it('rejects outstanding and queued requests with "reset" when the board resets', async () => {
    await withRig({ link: { window: 4 } }, async ({ link, server, board, events }) => {
      await link.hello();
      board.tableWriteDelayMs = 20;
      const writes = Array.from({ length: 10 }, (_, i) =>
        link.tableWrite(1, 100 * i, Buffer.alloc(50, i)),
      );
      await within(writes[0], 2000, 'first write');
      server.reset(ResetReason.COMMANDED);
      const results = await within(settle(writes), 2000, 'all settled');

      const rejected = results
        .filter((r) => r.status === 'rejected')
        .map((r) => r.reason as LinkError);
      expect(rejected.length).toBeGreaterThanOrEqual(6);
      for (const e of rejected) {
        expect(e.code).toBe('reset');
        expect(e.message).toMatch(
          /^TABLE_WRITE table 1 offset \d+: board reset \(bootId 0x[0-9a-f]{8}\)$/,
        );
      }
      expect(events[events.length - 1]).toEqual({
        type: 'reset',
        seq: 0,
        bootId: server.bootId,
        reason: ResetReason.COMMANDED,
        reasonName: 'COMMANDED',
      });
      expect(link.stats.resets).toBe(2); // power-on, then this one

      // The host starts again with HELLO: same bootId as the event, no further reset.
      board.tableWriteDelayMs = 0;
      expect((await link.hello()).bootId).toBe(server.bootId);
      await link.tableWrite(1, 0, Buffer.alloc(10));
      expect(link.stats.resets).toBe(2);
    });
  });

  it('sees a reset in HELLO when the RESET event was lost', async () => {
    await withRig({}, async ({ link, server, faults, events }) => {
      const first = await link.hello();
      faults.configure({ dropProbability: 1, direction: 'out' });
      server.reset(ResetReason.WATCHDOG);
      faults.configure({ dropProbability: 0 });
      const second = await within(link.hello(), 2000, 'hello');
      expect(second.bootId).not.toBe(first.bootId);
      expect(events[events.length - 1]).toMatchObject({
        type: 'reset',
        seq: null,
        bootId: second.bootId,
        reason: null,
      });
      expect(link.stats.resets).toBe(2); // power-on, then the one HELLO revealed
    });
  });

  it('skips garbage between frames, in both directions', async () => {
    await withRig({ link: { timeoutMs: 50 } }, async ({ link, server, hostPort, boardPort }) => {
      await link.hello();
      await link.writeRegs(0, [5]);
      const corrupt = encodeFrame(Kind.RESPONSE, 1, Op.PING, Buffer.of(0, 1, 2));
      corrupt[2] ^= 0x10;
      const garbage = Buffer.concat([
        Buffer.from('\x01\x02\xff noise \x00 more noise without a delimiter... '),
        Buffer.of(0),
        corrupt,
        Buffer.of(0x01, 0x00), // decodes to nothing: too short
        Buffer.alloc(3000, 0x7e), // over-long run
        Buffer.of(0),
      ]);
      boardPort.write(garbage);
      hostPort.write(garbage);
      expect(Array.from(await within(link.readRegs(0, 1), 2000, 'read'))).toEqual([5]);
      await link.writeRegs(4, [6]);
      expect(link.stats).toMatchObject({ retries: 0, crcErrors: 1, oversize: 1 });
      expect(link.stats.malformed).toBeGreaterThanOrEqual(2);
      expect(server.stats).toMatchObject({ crcErrors: 1, oversize: 1 });
      expect(server.stats.malformed).toBeGreaterThanOrEqual(2);

      // Garbage with no delimiter spoils the next frame; the retry (after a 0x00) gets through.
      boardPort.write(Buffer.from('unterminated'));
      expect(Array.from(await within(link.readRegs(0, 2), 2000, 'read after'))).toEqual([5, 6]);
      expect(link.stats.retries).toBe(1);
    });
  });

  it('close() rejects everything pending with "closed", and so does a far end that goes away', async () => {
    await withRig({ link: { window: 2 } }, async ({ link, faults }) => {
      await link.hello();
      faults.configure({ dropProbability: 1, direction: 'out' });
      const pending = settle([
        link.ping(Buffer.of(1)),
        link.ping(Buffer.of(2)),
        link.ping(Buffer.of(3)),
      ]);
      await link.close();
      for (const r of await pending) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'closed' });
      }
      await expect(link.ping(Buffer.of(4))).rejects.toMatchObject({
        code: 'closed',
        message: 'PING (1 bytes): link closed',
      });
    });
    await withRig({}, async ({ link, faults, ptyClose }) => {
      await link.hello();
      faults.configure({ dropProbability: 1, direction: 'out' });
      const pending = link.ping(Buffer.of(1)).catch((e: unknown) => e);
      await ptyClose();
      expect(await within(pending, 2000, 'closed by the far end')).toMatchObject({
        code: 'closed',
      });
    });
  });

  it('counts and ignores stray frames: unknown seq, requests, unknown events', async () => {
    await withRig({}, async ({ link, boardPort, events }) => {
      await link.hello();
      boardPort.write(encodeFrame(Kind.RESPONSE, 0x7777, Op.PING, Buffer.of(0)));
      boardPort.write(encodeFrame(Kind.REQUEST, 1, Op.PING, Buffer.of()));
      boardPort.write(encodeFrame(Kind.EVENT, 1, 0x9f, Buffer.alloc(5)));
      boardPort.write(encodeFrame(Kind.EVENT, 2, EventOp.LINK, Buffer.of(1))); // body too short
      await link.ping(Buffer.of(9));
      expect(link.stats.unexpected).toBe(3);
      expect(link.stats.malformed).toBe(1);
      expect(events).toHaveLength(1); // the power-on RESET only
    });
  });
});
