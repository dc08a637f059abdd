// Rough rates, not a test: `npx tsc -b` then `node bench/rates.mjs`.
// bpfFilterBatch over 1M small frames in batches of 1024 (anchor: tcpdump -r
// -w on the same frames); sendBatch to loopback (anchor: dgram.send). Each
// repetition runs ours and the anchor back to back; prints median and range.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bpfFilterBatch,
  closeSocket,
  compileBpf,
  Errno,
  makeSockaddr,
  openRawIpSocket,
  openUdpSocket,
  sendBatch,
} from '../dist/index.js';

const REPS = 3;
const FRAMES = 1_000_000;
const BATCH = 1024;
const EXPR = 'tcp port 443 or udp port 53';

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x) => (x / 1e6).toFixed(2);
  return `median ${f(s[Math.floor(s.length / 2)])} Mpps (range ${f(s[0])}–${f(s[s.length - 1])})`;
}

// 64-byte Ethernet frames: TCP/443, UDP/53, UDP/5000 in turn (2/3 match).
function frame(i) {
  const b = Buffer.alloc(64);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(50, 16);
  b[23] = i % 3 === 0 ? 6 : 17;
  b.writeUInt32BE(0x0a000001, 26);
  b.writeUInt32BE(0x0a000002, 30);
  b.writeUInt16BE(40000, 34);
  b.writeUInt16BE(i % 3 === 0 ? 443 : i % 3 === 1 ? 53 : 5000, 36);
  return b;
}

const dir = mkdtempSync(join(tmpdir(), 'nm-native-bench-'));
try {
  // One batch buffer of 1024 frames, refilled conceptually 977 times.
  const frames = Array.from({ length: BATCH }, (_, i) => frame(i));
  const buf = Buffer.concat(frames);
  const offsets = Int32Array.from({ length: BATCH }, (_, i) => i * 64);
  const lens = new Int32Array(BATCH).fill(64);
  const out = new Uint8Array(BATCH);
  const prog = compileBpf(EXPR, 1);

  // The same 1M frames as a pcap file for tcpdump.
  const pcap = join(dir, 'in.pcap');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  const rec = Buffer.alloc(16 + 64);
  rec.writeUInt32LE(64, 8);
  rec.writeUInt32LE(64, 12);
  const body = Buffer.alloc(FRAMES * rec.length);
  for (let i = 0; i < FRAMES; i++) {
    frames[i % BATCH].copy(rec, 16);
    rec.copy(body, i * rec.length);
  }
  writeFileSync(pcap, Buffer.concat([hdr, body]));

  const ours = [];
  const anchor = [];
  for (let r = 0; r < REPS; r++) {
    let matches = 0;
    const t0 = process.hrtime.bigint();
    for (let done = 0; done < FRAMES; done += BATCH) {
      const n = Math.min(BATCH, FRAMES - done);
      matches += bpfFilterBatch(prog, buf, offsets, lens, lens, n, out);
    }
    const t1 = process.hrtime.bigint();
    ours.push(FRAMES / (Number(t1 - t0) / 1e9));
    const t2 = process.hrtime.bigint();
    execFileSync('tcpdump', ['-n', '-r', pcap, '-w', '/dev/null', EXPR], { stdio: 'ignore' });
    const t3 = process.hrtime.bigint();
    anchor.push(FRAMES / (Number(t3 - t2) / 1e9));
    if (r === 0) console.log(`bpfFilterBatch: ${matches} of ${FRAMES} matched`);
  }
  console.log(`bpfFilterBatch, 64-byte frames, batch ${BATCH}: ${stats(ours)}`);
  console.log(`  anchor tcpdump -r FILE -w /dev/null (includes file reading): ${stats(anchor)}`);

  // Sending: 64-byte UDP payloads to a bound socket on 127.0.0.1 that never
  // reads (the kernel still runs the whole loopback receive path; excess is
  // dropped at the socket). Offered rate.
  const rx = createSocket({ type: 'udp4' });
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  rx.on('message', () => undefined);
  rx.pause?.();
  const port = rx.address().port;
  const SEND = 300_000;
  const payload = Buffer.alloc(64 * BATCH, 0xab);
  const soff = Int32Array.from({ length: BATCH }, (_, i) => i * 64);
  const slen = new Int32Array(BATCH).fill(64);

  async function runSend(fd, sa, total) {
    let sent = 0;
    let eagain = 0;
    const t0 = process.hrtime.bigint();
    while (sent < total) {
      const n = sendBatch(fd, sa, payload, soff, slen, 0, Math.min(BATCH, total - sent));
      if (n === -Errno.EAGAIN) {
        eagain++;
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (n < 0) throw new Error(`sendBatch: ${n}`);
      sent += n;
    }
    return { pps: total / (Number(process.hrtime.bigint() - t0) / 1e9), eagain };
  }

  async function dgramSend(total) {
    const tx = createSocket('udp4');
    const msg = Buffer.alloc(64, 0xab);
    const t0 = process.hrtime.bigint();
    let pending = 0;
    for (let i = 0; i < total; i++) {
      pending++;
      tx.send(msg, port, '127.0.0.1', () => pending--);
      if (pending > 1000) await new Promise((r) => setImmediate(r));
    }
    while (pending > 0) await new Promise((r) => setImmediate(r));
    const pps = total / (Number(process.hrtime.bigint() - t0) / 1e9);
    tx.close();
    return pps;
  }

  const udp = [];
  const raw = [];
  const dg = [];
  const fd = openUdpSocket(4, { sndbuf: 4 << 20 });
  const rfd = openRawIpSocket(4, 47);
  try {
    const sa = makeSockaddr('127.0.0.1', port);
    const rsa = makeSockaddr('127.0.0.1', 0);
    for (let r = 0; r < REPS; r++) {
      udp.push((await runSend(fd, sa, SEND)).pps);
      dg.push(await dgramSend(SEND / 3));
      raw.push((await runSend(rfd, rsa, SEND)).pps);
    }
  } finally {
    closeSocket(fd);
    closeSocket(rfd);
    rx.close();
  }
  console.log(`sendBatch UDP 64 B -> 127.0.0.1, batch ${BATCH}: ${stats(udp)}`);
  console.log(`  anchor dgram.send, one datagram per call: ${stats(dg)}`);
  console.log(`sendBatch raw GRE 64 B -> 127.0.0.1, batch ${BATCH}: ${stats(raw)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
