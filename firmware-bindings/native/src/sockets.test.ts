import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { hex, IpProto } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import {
  closeSocket,
  Errno,
  errnoName,
  makeSockaddr,
  openRawIpSocket,
  openUdpSocket,
  SEND_BATCH_MAX,
  sendBatch,
  sendBatchAsync,
} from './index.js';

/** Messages laid end to end in one buffer, as a sink would build them. */
function layout(payloads: Buffer[]): { buf: Buffer; offsets: Int32Array; lengths: Int32Array } {
  const buf = Buffer.concat(payloads);
  const offsets = new Int32Array(payloads.length);
  const lengths = new Int32Array(payloads.length);
  let at = 0;
  payloads.forEach((p, i) => {
    offsets[i] = at;
    lengths[i] = p.length;
    at += p.length;
  });
  return { buf, offsets, lengths };
}

/** Datagram i: its index (u32 BE) then bytes derived from it; sizes vary 4..1471. */
function datagram(i: number): Buffer {
  const size = 4 + ((i * 389) % 1468);
  const b = Buffer.alloc(size);
  b.writeUInt32BE(i, 0);
  for (let j = 4; j < size; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
}

async function udpRoundTrip(family: 4 | 6, address: string): Promise<void> {
  const rx: Socket = createSocket({
    type: family === 4 ? 'udp4' : 'udp6',
    recvBufferSize: 4 << 20,
  });
  const got = new Map<number, Buffer>();
  rx.on('message', (msg: Buffer) => got.set(msg.readUInt32BE(0), msg));
  rx.bind(0, address);
  await once(rx, 'listening');
  const fd = openUdpSocket(family, { sndbuf: 1 << 20 });
  try {
    const total = 1000;
    const payloads = Array.from({ length: total }, (_, i) => datagram(i));
    const { buf, offsets, lengths } = layout(payloads);
    const sa = makeSockaddr(address, rx.address().port);
    // Batches of 100, each waited for, so a slow receiver does not drop.
    let sent = 0;
    let calls = 0;
    while (sent < total) {
      const n = sendBatch(fd, sa, buf, offsets, lengths, sent, Math.min(100, total - sent));
      calls++;
      if (n === -Errno.EAGAIN) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      expect(n, errnoName(n)).toBeGreaterThan(0);
      sent += n;
      await waitFor(() => got.size >= sent, 2000);
    }
    expect(calls).toBeLessThan(100);
    await waitFor(() => got.size >= total, 2000);
    expect(got.size).toBe(total);
    for (let i = 0; i < total; i++)
      expect(got.get(i)?.equals(payloads[i]), `datagram ${i}`).toBe(true);
  } finally {
    closeSocket(fd);
    rx.close();
  }
}

describe('makeSockaddr', () => {
  it('builds sockaddr_in and sockaddr_in6', () => {
    const v4 = makeSockaddr('127.0.0.1', 4789);
    expect(v4.length).toBe(16);
    expect(v4.readUInt16LE(0)).toBe(2); // AF_INET (host order, x86)
    expect(v4.readUInt16BE(2)).toBe(4789);
    expect(v4.subarray(4, 8)).toEqual(Buffer.from([127, 0, 0, 1]));
    const v6 = makeSockaddr('2001:db8::1', 53);
    expect(v6.length).toBe(28);
    expect(v6.readUInt16LE(0)).toBe(10); // AF_INET6
    expect(v6.readUInt16BE(2)).toBe(53);
    expect(v6.subarray(8, 24)).toEqual(hex`20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01`);
    expect(makeSockaddr('fe80::1%lo', 0).readUInt32LE(24)).toBe(1); // scope id = ifindex of lo
    expect(makeSockaddr('fe80::1%7', 0).readUInt32LE(24)).toBe(7);
  });

  it('rejects what is not an address literal', () => {
    expect(() => makeSockaddr('localhost', 1)).toThrow(
      /"localhost" is not an IPv4 or IPv6 address literal/,
    );
    expect(() => makeSockaddr('10.0.0.256', 1)).toThrow(TypeError);
    expect(() => makeSockaddr('', 1)).toThrow(TypeError);
    expect(() => makeSockaddr('fe80::1%nosuchif0', 1)).toThrow(/unknown IPv6 zone/);
    expect(() => makeSockaddr('127.0.0.1', 65536)).toThrow(RangeError);
    expect(() => makeSockaddr('127.0.0.1', -1)).toThrow(RangeError);
    expect(() => makeSockaddr('127.0.0.1', 1.5)).toThrow(/port must be an integer/);
  });
});

describe('sendBatch over UDP', () => {
  it('delivers 1,000 datagrams of varied sizes to 127.0.0.1 byte for byte', () =>
    udpRoundTrip(4, '127.0.0.1'));
  it('delivers 1,000 datagrams of varied sizes to ::1 byte for byte', () => udpRoundTrip(6, '::1'));

  it(`sends at most ${SEND_BATCH_MAX} per call and returns -EMSGSIZE for an oversized datagram`, async () => {
    const rx = createSocket('udp4');
    rx.on('message', () => undefined);
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    const fd = openUdpSocket(4);
    try {
      const sa = makeSockaddr('127.0.0.1', rx.address().port);
      const n = 1500;
      const offsets = new Int32Array(n); // every message is the same 8 bytes
      const lengths = new Int32Array(n).fill(8);
      expect(sendBatch(fd, sa, Buffer.alloc(8), offsets, lengths, 0, n)).toBe(SEND_BATCH_MAX);
      expect(sendBatch(fd, sa, Buffer.alloc(8), offsets, lengths, 0, 0)).toBe(0);
      const big = Buffer.alloc(70000);
      expect(sendBatch(fd, sa, big, new Int32Array([0]), new Int32Array([big.length]), 0, 1)).toBe(
        -Errno.EMSGSIZE,
      );
      expect(errnoName(-Errno.EMSGSIZE)).toBe('EMSGSIZE');
      // A v6 address on a v4 socket: the kernel's error, returned, not thrown.
      const r = sendBatch(fd, makeSockaddr('::1', 9), Buffer.alloc(8), offsets, lengths, 0, 1);
      expect(r).toBeLessThan(0);
    } finally {
      closeSocket(fd);
      rx.close();
    }
  });

  it('rejects bad arguments with clear errors and sends nothing', () => {
    const fd = openUdpSocket(4);
    const sa = makeSockaddr('127.0.0.1', 9);
    const buf = Buffer.alloc(100);
    const offsets = new Int32Array([0, 50, 90]);
    const lengths = new Int32Array([50, 40, 10]);
    try {
      expect(() => sendBatch(fd, sa, buf, new Int32Array([0, 50, 91]), lengths, 0, 3)).toThrow(
        /message 2 \[offset 91, length 10\] is outside buf \(length 100\)/,
      );
      expect(() => sendBatch(fd, sa, buf, new Int32Array([0, -1, 0]), lengths, 0, 3)).toThrow(
        RangeError,
      );
      expect(() => sendBatch(fd, sa, buf, offsets, new Int32Array([50, 40, -1]), 0, 3)).toThrow(
        RangeError,
      );
      expect(() => sendBatch(fd, sa, buf, offsets, lengths, 0, -1)).toThrow(
        /count = -1 is outside/,
      );
      expect(() => sendBatch(fd, sa, buf, offsets, lengths, 2, 2)).toThrow(
        /messages \[2, 4\) exceed/,
      );
      expect(() => sendBatch(fd, sa, buf, offsets, lengths, -1, 1)).toThrow(RangeError);
      expect(() => sendBatch(fd, sa, buf, offsets, lengths, 0, Number.NaN)).toThrow(
        /count must be an integer/,
      );
      expect(() => sendBatch(fd, Buffer.alloc(16), buf, offsets, lengths, 0, 3)).toThrow(
        /not a sockaddr_in/,
      );
      expect(() => sendBatch(fd, sa.subarray(0, 8), buf, offsets, lengths, 0, 3)).toThrow(
        /not a sockaddr_in/,
      );
      expect(() => sendBatch(1, sa, buf, offsets, lengths, 0, 3)).toThrow(
        /fd 1 is not a socket opened by/,
      );
      const call = sendBatch as unknown as (...a: unknown[]) => number;
      expect(() => call(fd, sa, 'text', offsets, lengths, 0, 3)).toThrow(/buf must be a Buffer/);
      expect(() => call(fd, sa, buf, [0, 50, 90], lengths, 0, 3)).toThrow(
        /offsets must be an Int32Array/,
      );
      expect(() => call('3', sa, buf, offsets, lengths, 0, 3)).toThrow(/fd must be a number/);
    } finally {
      closeSocket(fd);
    }
    expect(() => closeSocket(fd)).toThrow(/not a socket opened by/); // double close
    expect(() => closeSocket(0)).toThrow(TypeError); // never stdin
    expect(() => sendBatch(fd, sa, buf, offsets, lengths, 0, 3)).toThrow(/was closed/);
    const open = openUdpSocket as unknown as (...a: unknown[]) => number;
    expect(() => open(5)).toThrow(/family must be 4 or 6/);
    expect(() => open(4, { sndbuf: -1 })).toThrow(RangeError);
    expect(() => openRawIpSocket(4, 255)).toThrow(RangeError);
    expect(() => openRawIpSocket(4, 0)).toThrow(RangeError);
  });
});

describe('sendBatchAsync', () => {
  it('sends every message from a worker thread, byte for byte, in order', async () => {
    const rx = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    const got: Buffer[] = [];
    rx.on('message', (msg: Buffer) => got.push(msg));
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    const fd = openUdpSocket(4, { sndbuf: 4 << 20 });
    try {
      const total = 2500; // more than one sendmmsg (1,024) per call
      const payloads = Array.from({ length: total }, (_, i) => datagram(i).subarray(0, 64));
      const { buf, offsets, lengths } = layout(payloads);
      const sa = makeSockaddr('127.0.0.1', rx.address().port);
      const [sent, errno] = await new Promise<[number, number]>((resolve) =>
        sendBatchAsync(fd, sa, buf, offsets, lengths, 0, total, (n, e) => resolve([n, e])),
      );
      expect([sent, errno]).toEqual([total, 0]);
      await waitFor(() => got.length >= total, 3000);
      expect(got.length).toBe(total);
      got.forEach((msg, i) => expect(msg.equals(payloads[i]), `datagram ${i}`).toBe(true));
    } finally {
      closeSocket(fd);
      rx.close();
    }
  });

  it('stops at a datagram the kernel refuses and says which and why', async () => {
    const fd = openUdpSocket(4);
    try {
      const big = Buffer.alloc(70_000);
      const offsets = new Int32Array([0, 0, 0]);
      const lengths = new Int32Array([8, 70_000, 8]);
      const [sent, errno] = await new Promise<[number, number]>((resolve) =>
        sendBatchAsync(fd, makeSockaddr('127.0.0.1', 9), big, offsets, lengths, 0, 3, (n, e) =>
          resolve([n, e]),
        ),
      );
      expect([sent, errnoName(errno)]).toEqual([1, 'EMSGSIZE']);
      expect(() =>
        sendBatchAsync(fd, makeSockaddr('127.0.0.1', 9), big, offsets, lengths, 2, 2, () => {}),
      ).toThrow(RangeError);
    } finally {
      closeSocket(fd);
    }
  });
});

describe('worker threads', () => {
  it('loads in a worker, and a worker’s sockets close when it exits', async () => {
    const addon = fileURLToPath(new URL('../build/Release/netmirror_native.node', import.meta.url));
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const n = require(${JSON.stringify(addon)});
       const fd = n.openUdpSocket(4, 0);
       const sent = n.sendBatch(fd, n.makeSockaddr('127.0.0.1', 9), Buffer.alloc(8), new Int32Array(1), new Int32Array([8]), 0, 1);
       parentPort.postMessage({ fd, sent, link: require('node:fs').readlinkSync('/proc/self/fd/' + fd) });
       setTimeout(() => {}, 50);`,
      { eval: true },
    );
    const [msg] = (await once(worker, 'message')) as [{ fd: number; sent: number; link: string }];
    await once(worker, 'exit');
    expect(msg.sent).toBe(1);
    expect(msg.link).toMatch(/^socket:\[\d+\]$/);
    let after: string;
    try {
      after = readlinkSync(`/proc/self/fd/${msg.fd}`);
    } catch {
      after = 'closed';
    }
    expect(after).not.toBe(msg.link);
  });
});

describe('sendBatch over a raw GRE socket', () => {
  it('sends GRE packets that tshark captures and decodes on lo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-native-gre-'));
    const file = join(dir, 'gre.pcap');
    const N = 20;
    const tshark = spawn(
      'tshark',
      ['-n', '-i', 'lo', '-f', 'ip proto 47 and dst host 127.0.0.1', '-c', String(N), '-w', file],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    tshark.stderr.setEncoding('utf8');
    tshark.stderr.on('data', (d: string) => (stderr += d));
    const exited = once(tshark, 'exit');
    let fd = -1;
    try {
      await waitFor(() => stderr.includes('Capturing on'), 15_000);
      expect(stderr).toContain('Capturing on');
      // "Capturing on" comes a moment before the capture is live.
      await new Promise((r) => setTimeout(r, 1000));
      await new Promise((r) => setTimeout(r, 300)); // the line comes just before the ring is live

      // GRE (no flags, version 0) carrying an experimental EtherType, so tshark
      // shows the payload as data.
      const payloads = Array.from({ length: N }, (_, i) =>
        Buffer.concat([
          hex`00 00 88 b5`, // GRE: C=0 K=0 S=0 ver=0, protocol 0x88b5 (local experimental)
          Buffer.from(`netmirror gre ${String(i).padStart(3, '0')} `.padEnd(40 + i, '.')),
        ]),
      );
      const { buf, offsets, lengths } = layout(payloads);
      fd = openRawIpSocket(4, IpProto.GRE);
      const sa = makeSockaddr('127.0.0.1', 0);
      let sent = 0;
      while (sent < N) {
        const n = sendBatch(fd, sa, buf, offsets, lengths, sent, N - sent);
        expect(n, errnoName(n)).toBeGreaterThan(0);
        sent += n;
      }
      const timer = setTimeout(() => tshark.kill('SIGTERM'), 15_000);
      await exited;
      clearTimeout(timer);

      const rows = execFileSync(
        'tshark',
        [
          '-n',
          '-r',
          file,
          '-T',
          'fields',
          '-E',
          'separator=,',
          '-e',
          'ip.src',
          '-e',
          'ip.dst',
          '-e',
          'ip.proto',
          '-e',
          'gre.proto',
          '-e',
          'data.data',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      )
        .trim()
        .split('\n');
      expect(rows).toHaveLength(N);
      rows.forEach((row, i) => {
        const [src, dst, proto, greProto, data] = row.split(',');
        expect([src, dst, proto, greProto]).toEqual(['127.0.0.1', '127.0.0.1', '47', '0x88b5']);
        expect(Buffer.from(data, 'hex').equals(payloads[i].subarray(4)), `packet ${i}`).toBe(true);
      });
    } finally {
      if (fd >= 0) closeSocket(fd);
      if (tshark.exitCode === null) tshark.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
