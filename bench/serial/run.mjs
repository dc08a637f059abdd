#!/usr/bin/env node
// bench/serial: time to program a board's whole filter table over the serial
// link, against the wire's own limit.
//
//   node bench/serial/run.mjs [--boards nm-tap-4x10g,nm-tap-2x100g] [--bauds 115200,921600] [--reps 3]
//
// For each board profile and line speed: a socat pty pair, the board
// emulator (tools/board-emulator, its own process) modelling the line speed
// (10 bit times a byte, each direction), and the agent's host side
// (SerialLink + BoardClient) programming a full bank (every entry valid,
// random keys and masks): clear the shadow bank, write every chunk, read
// every chunk back and compare, check the shadow CRC, commit, check the
// active CRC. The wire's limit is the bank's bytes × 10 / baud: the time the
// table alone takes on the line, with no framing, no read-back and no
// replies. Target (issue): within 1.5× of it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BoardClient, loadBoardProfile, tcamGeometry } from '@netmirror/fpga';
import { openSerialTransport, SerialLink } from '@netmirror/serial-link';
import { createPtyPair } from '@netmirror/serial-link/testing';

const root = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    boards: { type: 'string', default: 'nm-tap-4x10g,nm-tap-2x100g' },
    bauds: { type: 'string', default: '115200,921600' },
    reps: { type: 'string', default: '3' },
  },
});
const boards = values.boards.split(',');
const bauds = values.bauds.split(',').map(Number);
const reps = Number(values.reps);

/** A full bank: every entry valid (action word bit 0), keys and masks random. */
function fullBank(profile) {
  const g = tcamGeometry(profile);
  const bank = randomBytes(g.bankBytes);
  for (let i = 0; i < profile.tcam.entries; i++) {
    const at = i * g.entryBytes + 2 * g.keyBytes;
    bank.writeUInt32LE(0x00000103 | ((i & 0xff) << 16), at); // valid, copy, mon0, slice field junk-free
  }
  return bank;
}

async function startEmulator(board, port, baud) {
  const child = spawn(
    'node',
    [
      resolve(root, 'tools/board-emulator/bin/board-emulator.js'),
      '--board',
      board,
      '--port',
      port,
      '--baud',
      String(baud),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  await new Promise((ok, fail) => {
    lines.once('line', (l) => (JSON.parse(l).ready ? ok() : fail(new Error(l))));
    child.once('exit', (code) => fail(new Error(`emulator exited ${code}`)));
  });
  return child;
}

async function once(board, baud) {
  const profile = loadBoardProfile(board);
  const pty = await createPtyPair();
  const emulator = await startEmulator(board, pty.a, baud);
  const link = new SerialLink(await openSerialTransport(pty.b, baud), {
    baudRate: baud,
    window: 8,
  });
  try {
    const client = new BoardClient(link, profile);
    await client.identify();
    const bank = fullBank(profile);
    const t0 = performance.now();
    const report = await client.programTcam(bank);
    const seconds = (performance.now() - t0) / 1000;
    const wire = (bank.length * 10) / baud;
    return { seconds, wire, ratio: seconds / wire, bytes: bank.length, report, stats: link.stats };
  } finally {
    await link.close().catch(() => undefined);
    emulator.stdin.end('quit\n');
    await new Promise((r) => emulator.once('exit', r));
    await pty.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`bench/serial: ${boards.join(', ')} at ${bauds.join(', ')} baud, ${reps} runs each`);
const rows = [];
for (const board of boards) {
  for (const baud of bauds) {
    const runs = [];
    for (let r = 0; r < reps; r++) {
      const x = await once(board, baud);
      runs.push(x);
      console.log(
        `  ${board} ${baud}: ${x.seconds.toFixed(3)} s for ${x.bytes} bytes (wire ${x.wire.toFixed(3)} s, ${x.ratio.toFixed(2)}×), ${x.report.chunks} chunks, ${x.stats.retries} retries, ${x.stats.bytesOut} bytes out, ${x.stats.bytesIn} in`,
      );
    }
    rows.push({
      board,
      baud,
      bytes: runs[0].bytes,
      wire: runs[0].wire,
      seconds: runs.map((x) => x.seconds),
      ratios: runs.map((x) => x.ratio),
    });
  }
}
console.log(
  '\n| board | baud | table bytes | wire limit s | measured s, median (min–max) | × limit | target ≤ 1.5× |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const m = median(r.ratios);
  console.log(
    `| ${r.board} | ${r.baud} | ${r.bytes.toLocaleString('en-US')} | ${r.wire.toFixed(3)} | ${median(r.seconds).toFixed(3)} (${Math.min(...r.seconds).toFixed(3)}–${Math.max(...r.seconds).toFixed(3)}) | ${m.toFixed(2)} | ${m <= 1.5 ? 'met' : 'NOT met'} |`,
  );
}
