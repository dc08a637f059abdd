// The hardware session against the board emulator behind socat ptys with
// fixed names: when the serial port goes away (a USB-serial adapter pulled)
// and comes back with a board behind it, the session opens it again and puts
// the rules in force back on the board, keeping its counts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCaptureFile } from '@netmirror/capgen';
import { BoardEmulator } from '@netmirror/board-emulator';
import { loadBoardProfile } from '@netmirror/fpga';
import { validateRuleSet } from '@netmirror/rules';
import { openSerialTransport } from '@netmirror/serial-link';
import { afterAll, describe, expect, it } from 'vitest';
import { openSink } from '../sinks/index.js';
import { until } from '../testing/until.js';
import { FpgaTapSession, parseFpgaSource } from './fpga-session.js';

const dir = mkdtempSync(join(tmpdir(), 'nm-fpga-session-'));
const capture = join(dir, 'mix.pcap');
writeCaptureFile({ path: capture, frames: 1000, seed: 4 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** socat with a pty pair at fixed paths (so a replugged "adapter" has the same name). */
async function line(board: string, host: string): Promise<ChildProcess> {
  const socat = spawn('socat', [`pty,raw,echo=0,link=${board}`, `pty,raw,echo=0,link=${host}`], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100 && !(existsSync(board) && existsSync(host)); i++)
    await new Promise((r) => setTimeout(r, 20));
  return socat;
}

/** Waits (15 s at most, unless told) until `cond` holds. */
const waitFor = (what: string, cond: () => boolean, ms = 15_000): Promise<true> =>
  until(what, () => (cond() ? true : undefined), ms);

describe('FpgaTapSession', () => {
  it('opens the port again after it went away and reprograms the board behind it', async () => {
    const boardEnd = join(dir, 'board');
    const hostEnd = join(dir, 'host');
    const profile = loadBoardProfile('nm-tap-4x10g');
    const startBoard = async (): Promise<BoardEmulator> =>
      new BoardEmulator({
        profile,
        transport: await openSerialTransport(boardEnd, 921600),
        baudRate: 921600,
      });
    let socat = await line(boardEnd, hostEnd);
    let board = await startBoard();
    const sinks = new Map([['mon', openSink('mon', 'board:mon0')]]);
    const session = new FpgaTapSession(
      parseFpgaSource(`fpga:${hostEnd}?board=nm-tap-4x10g&baud=921600`),
      {
        ruleSet: validateRuleSet({
          destinations: { mon: 'board:mon0' },
          rules: [
            {
              name: 'udp',
              priority: 1,
              action: 'mirror',
              match: { protocol: 'udp' },
              destinations: ['mon'],
            },
          ],
        }),
        sinks,
        defaultSinks: [],
      },
    );
    const running = session.run();
    try {
      // Programmed and committed, then mirroring switched on: both, before feeding.
      const onBoard = (): boolean => {
        const d = board.model.describe();
        return d.generation === 1 && d.mirroring;
      };
      await waitFor('the rules on the board, mirroring', onBoard);
      const before = board.feedFile(capture).copies;
      expect(before).toBeGreaterThan(50);
      await waitFor('counters read', () => session.snapshot().counters.read === 1000, 5000);

      // The adapter is pulled: the line and the board behind it go.
      socat.kill('SIGKILL');
      await board.close();
      await new Promise((r) => setTimeout(r, 300));
      // It comes back, with the board freshly powered (an empty table).
      socat = await line(boardEnd, hostEnd);
      board = await startBoard();
      await waitFor('the rules back on the board, mirroring', onBoard, 20_000);
      await waitFor('mirroring on', () => board.feedFile(capture).copies === before, 5000);
      await waitFor('counts kept across it', () => session.snapshot().counters.read >= 2000, 5000);
    } finally {
      session.stop();
      await running.catch(() => undefined);
      await board.close().catch(() => undefined);
      socat.kill('SIGKILL');
    }
  }, 60_000);
});
