import { describe, expect, it } from 'vitest';
import { FaultyTransport } from './faulty-transport.js';
import { PacedTransport } from './paced-transport.js';
import { openSerialTransport } from './serial-transport.js';
import { createMemoryPair, createPtyPair } from './testing/index.js';
import type { ByteTransport } from './transport.js';

/** Resolves with the arrival times (ms since `t0`) of chunks until `n` bytes came. */
function receive(
  t: ByteTransport,
  n: number,
  t0: number,
): Promise<{ at: number; bytes: number }[]> {
  const arrivals: { at: number; bytes: number }[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got} of ${n} bytes`)), 2000);
    t.onData((chunk) => {
      got += chunk.length;
      arrivals.push({ at: performance.now() - t0, bytes: got });
      if (got >= n) {
        clearTimeout(timer);
        resolve(arrivals);
      }
    });
  });
}

const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));

describe('PacedTransport', () => {
  it('sends N bytes at 115200 baud in about N*10/115200 s, a little at a time', async () => {
    const [a, b] = createMemoryPair();
    const paced = new PacedTransport(a, 115200);
    const n = 1152; // 100 ms on the wire
    const t0 = performance.now();
    const arriving = receive(b, n, t0);
    paced.write(pattern(n).subarray(0, 500));
    paced.write(pattern(n).subarray(500));
    const arrivals = await arriving;
    const last = arrivals[arrivals.length - 1].at;
    expect(last).toBeGreaterThanOrEqual(99);
    expect(last).toBeLessThan(150);
    expect(arrivals.length).toBeGreaterThan(10);
    // Never ahead of the wire: by time t at most t*11.52 bytes.
    for (const { at, bytes } of arrivals)
      expect(bytes).toBeLessThanOrEqual(Math.floor((at * 115200) / 10000) + 1);
    await paced.close();
  });

  it('paces what it receives too, and both directions at once (full duplex)', async () => {
    const [a, b] = createMemoryPair();
    const paced = new PacedTransport(a, 115200);
    const n = 1152;
    const t0 = performance.now();
    const inbound = receive(paced, n, t0);
    const outbound = receive(b, n, t0);
    b.write(pattern(n));
    paced.write(pattern(n));
    const [inA, outA] = await Promise.all([inbound, outbound]);
    for (const arrivals of [inA, outA]) {
      const last = arrivals[arrivals.length - 1].at;
      expect(last).toBeGreaterThanOrEqual(99);
      expect(last).toBeLessThan(150);
    }
    await paced.close();
  });

  it('keeps time over many slices at 921600 baud (no drift from timer granularity)', async () => {
    const [a, b] = createMemoryPair();
    const paced = new PacedTransport(a, 921600, { sliceMs: 1 });
    const n = 18432; // 200 ms
    const t0 = performance.now();
    const arriving = receive(b, n, t0);
    for (let at = 0; at < n; at += 512) paced.write(pattern(512));
    const arrivals = await arriving;
    const last = arrivals[arrivals.length - 1].at;
    expect(last).toBeGreaterThanOrEqual(199);
    expect(last).toBeLessThan(240);
    await paced.close();
  });

  it('restarts its clock after the line was idle', async () => {
    const [a, b] = createMemoryPair();
    const paced = new PacedTransport(a, 115200);
    const first = receive(b, 115, performance.now());
    paced.write(pattern(115)); // 10 ms
    await first;
    await new Promise((r) => setTimeout(r, 30));
    const t1 = performance.now();
    const second = receive(b, 115, t1);
    paced.write(pattern(115));
    const arrivals = await second;
    const last = arrivals[arrivals.length - 1].at;
    expect(last).toBeGreaterThanOrEqual(9);
    expect(last).toBeLessThan(25);
    await paced.close();
  });
});

describe('FaultyTransport', () => {
  async function run(
    seed: number,
    options: ConstructorParameters<typeof FaultyTransport>[1],
  ): Promise<Buffer> {
    const [a, b] = createMemoryPair();
    const faulty = new FaultyTransport(a, { seed, ...options });
    const chunks: Buffer[] = [];
    b.onData((c) => chunks.push(c));
    for (let i = 0; i < 10; i++) faulty.write(pattern(1000));
    await new Promise((r) => setTimeout(r, 20 + (options?.delayMs ?? 0)));
    await faulty.close();
    return Buffer.concat(chunks);
  }

  it('is deterministic for a seed, and damages about the share asked', async () => {
    const one = await run(5, { dropProbability: 0.01, corruptProbability: 0.01 });
    const two = await run(5, { dropProbability: 0.01, corruptProbability: 0.01 });
    const other = await run(6, { dropProbability: 0.01, corruptProbability: 0.01 });
    expect(one.equals(two)).toBe(true);
    expect(one.equals(other)).toBe(false);
    expect(one.length).toBeGreaterThan(10000 - 200);
    expect(one.length).toBeLessThan(10000 - 50);
  });

  it('flips exactly one bit of a corrupted byte', async () => {
    const out = await run(3, { corruptProbability: 0.05 });
    const sent = Buffer.concat(Array.from({ length: 10 }, () => pattern(1000)));
    let damaged = 0;
    for (let i = 0; i < sent.length; i++) {
      const x = sent[i] ^ out[i];
      if (x === 0) continue;
      damaged++;
      expect(x & (x - 1)).toBe(0);
    }
    expect(damaged).toBeGreaterThan(300);
    expect(damaged).toBeLessThan(700);
  });

  it('hits only the direction asked, drops everything at probability 1, delays in order', async () => {
    const [a, b] = createMemoryPair();
    const faulty = new FaultyTransport(a, { dropProbability: 1, direction: 'out' });
    const atB: Buffer[] = [];
    const atA: Buffer[] = [];
    b.onData((c) => atB.push(c));
    faulty.onData((c) => atA.push(c));
    faulty.write(pattern(100));
    b.write(pattern(100));
    await new Promise((r) => setTimeout(r, 10));
    expect(atB).toEqual([]);
    expect(Buffer.concat(atA).equals(pattern(100))).toBe(true);
    expect(faulty.stats.dropped).toBe(100);

    faulty.configure({ dropProbability: 0, delayMs: 30 });
    const t0 = performance.now();
    faulty.write(Buffer.from('first'));
    faulty.write(Buffer.from('second'));
    await new Promise((r) => setTimeout(r, 10));
    expect(atB).toEqual([]);
    await new Promise((r) => setTimeout(r, 40));
    expect(Buffer.concat(atB).toString()).toBe('firstsecond');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    await faulty.close();
  });
});

describe('openSerialTransport', () => {
  it('names the port and the errno when it cannot open', async () => {
    await expect(openSerialTransport('/dev/no-such-serial-port', 115200)).rejects.toThrow(
      /^serial port \/dev\/no-such-serial-port: ENOENT no such file or directory/,
    );
  });

  it('passes every byte value through a pty pair unchanged', async () => {
    const pty = await createPtyPair();
    try {
      const a = await openSerialTransport(pty.a, 115200);
      const b = await openSerialTransport(pty.b, 115200);
      const all = pattern(256);
      const got = receive(b, 512, performance.now());
      a.write(all);
      a.write(all);
      await got;
      const closed = new Promise<Error | undefined>((resolve) => b.onClose(resolve));
      await a.close();
      await b.close();
      await closed;
    } finally {
      await pty.close();
    }
  });
});
