// AF_XDP receive rate, not a test: `npx tsc -b` then, as root,
// `node bench/xdp-rate.mjs [frames] [count]`. A veth pair with one end in a
// namespace of its own; trafgen sends `count` 64-byte frames (to a MAC nobody
// owns) from the namespace. Each repetition runs the sender alone (baseline),
// then with an XSK socket in skb mode and in drv mode receiving on the other
// end through the event loop (receive, release, pollXsk), as the xdp: tap
// does. On veth the XDP work runs on the sender's core, so the sender's rate
// with the socket open is the ceiling. Prints median and range; checks that
// received + rxDropped + rxRingFull = sent. Needs ip and trafgen
// (netsniff-ng).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeXsk, openXsk, pollXsk, xskReceive, xskRelease, xskStats } from '../dist/index.js';
import { VethLab } from '../dist/testing/index.js';

const REPS = 3;
const FRAMES = Number(process.argv[2] ?? 4096);
const COUNT = Number(process.argv[3] ?? 2_000_000);
const lab = new VethLab('xb');

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x) => (x / 1e6).toFixed(3);
  return `median ${f(s[Math.floor(s.length / 2)])} Mpps (range ${f(s[0])}–${f(s[s.length - 1])})`;
}

/** Runs trafgen to completion; resolves with its rate in frames per second. */
async function send(conf) {
  const t0 = performance.now();
  const p = spawn(
    'ip',
    [
      'netns',
      'exec',
      lab.ns,
      'trafgen',
      '--dev',
      lab.peerIf,
      '--conf',
      conf,
      '--num',
      `${COUNT}`,
      '-P',
      '1',
      '-C',
    ],
    { stdio: 'ignore' },
  );
  const [code] = await once(p, 'exit');
  if (code !== 0) throw new Error(`trafgen exited with ${code}`);
  return COUNT / ((performance.now() - t0) / 1000);
}

/** Receives while trafgen runs; returns { sent, received, dropped, rate }. */
async function receive(conf, mode) {
  const xsk = openXsk(lab.hostIf, { frameCount: FRAMES, frameSize: 2048, mode });
  const addrs = new Int32Array(1024);
  const lens = new Int32Array(1024);
  let received = 0;
  let first = 0;
  let last = 0;
  let done = false;
  const step = () => {
    if (done) return;
    for (let k = 0; k < 64; k++) {
      const n = xskReceive(xsk, addrs, lens);
      if (n === 0) break;
      if (received === 0) first = performance.now();
      received += n;
      last = performance.now();
      xskRelease(xsk);
    }
    pollXsk(xsk, step);
  };
  step();
  try {
    const sent = await send(conf);
    // Let the last frames in, bounded: stop once nothing came for 300 ms.
    for (let i = 0, seen = -1; i < 100 && seen !== received; i++) {
      seen = received;
      await new Promise((r) => setTimeout(r, 300));
    }
    done = true;
    const st = xskStats(xsk);
    return {
      sent,
      received,
      dropped: st.rxDropped + st.rxRingFull,
      rate: received / ((last - first) / 1000),
    };
  } finally {
    closeXsk(xsk);
  }
}

try {
  lab.create();
  const conf = join(lab.dir, 'frame.cfg');
  writeFileSync(
    conf,
    '{ 0x02,0x00,0x5e,0x00,0x0d,0x01, 0x02,0x00,0x5e,0x00,0x0d,0x02, 0x88,0xb5, fill(0x00, 46) }\n',
  );
  const rows = { baseline: [], skb: [], 'skb sender': [], drv: [], 'drv sender': [] };
  const lost = { skb: 0, drv: 0 };
  for (let rep = 0; rep < REPS; rep++) {
    rows.baseline.push(await send(conf));
    for (const mode of ['skb', 'drv']) {
      const r = await receive(conf, mode);
      if (r.received + r.dropped !== COUNT)
        throw new Error(`${mode}: received ${r.received} + dropped ${r.dropped} != sent ${COUNT}`);
      rows[mode].push(r.rate);
      rows[`${mode} sender`].push(r.sent);
      lost[mode] += r.dropped;
    }
  }
  console.log(`${COUNT} frames × ${REPS}, UMEM ${FRAMES} frames of 2048`);
  for (const [name, xs] of Object.entries(rows)) console.log(`${name.padEnd(12)} ${stats(xs)}`);
  console.log(`dropped (counted): skb ${lost.skb}, drv ${lost.drv} of ${COUNT * REPS} each`);
} finally {
  lab.remove();
}
