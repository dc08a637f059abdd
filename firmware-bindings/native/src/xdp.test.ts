// AF_XDP against real traffic: a veth pair with one end in the root
// namespace (unique name, IPv6 off, no address, so nothing but our probes
// crosses it) and the other in a namespace of its own, from which python3
// sends sequence-numbered probe frames with a raw AF_PACKET socket. Untagged,
// 802.1Q, QinQ (802.1ad outer) and double-802.1Q probes go to a MAC nobody
// owns, so nothing replies. A second pair, with two queues, carries the
// stale/shared/foreign program checks. Needs root, ip and python3; the
// foreign program is libxdp's xdp-filter object shipped by libxdp-dev.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from './native.js';
import { probeKind, probeKit, quiet, sh, VethLab } from './testing/index.js';
import {
  XDP_PACKET_HEADROOM,
  closeXsk,
  openXsk,
  pollXsk,
  xskFill,
  xskReceive,
  xskRelease,
  xskStats,
  type XskSocket,
} from './xdp.js';

const lab = new VethLab('x');
const HOST_IF = lab.hostIf; // root namespace end
const PEER_IF = lab.peerIf; // end inside the lab's namespace
const MQ_IF = `nmxq${lab.tag}`; // two-queue pair for the program checks
const MQ_PEER = `nmxr${lab.tag}`;
const { probe, seqOf } = probeKit(0x4e4d5844, '02005e000b'); // "NMXD", to a MAC nobody owns
const FOREIGN_OBJ = '/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o';
const ADDON = fileURLToPath(new URL('../build/Release/netmirror_native.node', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The XDP program attached to an interface (root namespace), per `ip -j link`. */
function xdpProgram(ifname: string): { id: number; name: string; mode: number } | null {
  const [link] = JSON.parse(sh('ip', ['-j', 'link', 'show', 'dev', ifname])) as {
    xdp?: { mode: number; prog?: { id: number; name: string } };
  }[];
  const prog = link.xdp?.prog;
  return prog ? { id: prog.id, name: prog.name, mode: link.xdp!.mode } : null;
}

/** An untagged probe of exactly `len` bytes on the wire. */
function sizedProbe(i: number, len: number): Buffer {
  return probe(i * 4, len - 12); // i * 4: untagged
}

describe('AF_XDP socket (libxdp, copy mode on veth)', () => {
  const children: ChildProcess[] = [];

  /** Sends from the namespace and waits for python to finish (the event loop is blocked meanwhile). */
  function send(frames: Buffer[]): void {
    expect(lab.send(frames)).toBe(frames.length);
  }

  /**
   * Receives until `want` frames came or `timeoutMs` passed, releasing after
   * each round; returns copies of the frames. Checks every descriptor points
   * into the UMEM right after a frame's headroom.
   */
  async function drain(xsk: XskSocket, want: number, timeoutMs = 5_000): Promise<Buffer[]> {
    const addrs = new Int32Array(64);
    const lens = new Int32Array(64);
    const got: Buffer[] = [];
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; round < 10_000 && got.length < want && Date.now() < deadline; round++) {
      const before = Date.now();
      const n = xskReceive(xsk, addrs, lens);
      if (n === 0) {
        await sleep(5);
        continue;
      }
      const sec = xsk.stamp[0] + xsk.stamp[1] / 1e9;
      expect(sec * 1000).toBeGreaterThanOrEqual(before - 1);
      expect(sec * 1000).toBeLessThanOrEqual(Date.now() + 1);
      for (let i = 0; i < n; i++) {
        expect((addrs[i] - XDP_PACKET_HEADROOM) % xsk.frameSize, `frame ${i} offset`).toBe(0);
        expect(lens[i]).toBeLessThanOrEqual(xsk.maxFrameLength);
        got.push(Buffer.from(xsk.umem.subarray(addrs[i], addrs[i] + lens[i])));
      }
      expect(xskRelease(xsk)).toBe(n);
    }
    return got;
  }

  beforeAll(() => {
    lab.create();
    lab.addPair(MQ_IF, MQ_PEER, { queues: 2 });
  }, 30_000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    lab.remove();
  });

  it('receives every probe exactly once, byte for byte with VLAN tags inline, and counts no drops', async () => {
    const N = 500;
    const BATCH = 100;
    const probes = Array.from({ length: N }, (_, i) => probe(i));
    // 256 frames: a batch of 100 fits while python holds the event loop, and
    // 500 probes reuse every frame.
    const xsk = openXsk(HOST_IF, { frameCount: 256, frameSize: 2048 });
    const seen = new Array<number>(N).fill(0);
    const strangers: string[] = [];
    try {
      expect(xsk.umem.length).toBe(256 * 2048);
      expect(xsk.zeroCopy).toBe(false);
      expect(xsk.staleProgramId).toBe(0);
      expect(xdpProgram(HOST_IF)).toMatchObject({ name: 'xsk_def_prog', mode: 2 }); // 2: generic
      for (let first = 0; first < N; first += BATCH) {
        send(probes.slice(first, first + BATCH));
        const frames = await drain(xsk, BATCH);
        expect(frames.length, `batch at ${first}`).toBe(BATCH);
        for (const wire of frames) {
          const seq = seqOf(wire);
          if (seq < 0 || seq >= N) {
            strangers.push(wire.subarray(0, 64).toString('hex'));
            continue;
          }
          seen[seq]++;
          // Exactly the bytes sent: every tag is still inline.
          expect(wire.equals(probes[seq]), `probe ${seq} (${probeKind(seq)})`).toBe(true);
        }
      }
      expect(strangers).toEqual([]);
      expect(seen.filter((c) => c !== 1).length, 'probes not seen exactly once').toBe(0);
      // Nothing more arrives.
      expect(await drain(xsk, 1, 200)).toEqual([]);
      expect(xskStats(xsk)).toEqual({
        rxDropped: 0,
        rxInvalid: 0,
        rxRingFull: 0,
        fillRingEmpty: 0,
      });
    } finally {
      closeXsk(xsk);
    }
    expect(xsk.umem.length, 'the UMEM view is detached at close').toBe(0);
    expect(xdpProgram(HOST_IF), 'close detaches the program').toBeNull();
  }, 60_000);

  it('wakes the event loop, keeps received frames held until one release gives them all back', async () => {
    const probes = Array.from({ length: 40 }, (_, i) => probe(1000 + i));
    const xsk = openXsk(HOST_IF, { frameCount: 64 });
    try {
      for (let round = 0; round < 3; round++) {
        let timer: NodeJS.Timeout | undefined;
        const woke = new Promise<string>((resolve) => {
          pollXsk(xsk, () => resolve('poll'));
          timer = setTimeout(() => resolve('timeout'), 5_000);
        });
        const sentAt = Date.now();
        expect(await lab.sendAsync(probes)).toBe(probes.length);
        expect(await woke).toBe('poll');
        clearTimeout(timer);
        expect(Date.now()).toBeGreaterThanOrEqual(sentAt);
        // Receive in slices of 7 without releasing: the held set grows, and
        // every frame stays readable until the single release.
        const addrs = new Int32Array(7);
        const lens = new Int32Array(7);
        const held: Array<{ at: number; len: number }> = [];
        const deadline = Date.now() + 5_000;
        while (held.length < probes.length && Date.now() < deadline) {
          const n = xskReceive(xsk, addrs, lens);
          for (let i = 0; i < n; i++) held.push({ at: addrs[i], len: lens[i] });
          if (n === 0) await sleep(5);
        }
        expect(held.length).toBe(probes.length);
        expect(new Set(held.map((h) => h.at)).size, 'distinct frames').toBe(probes.length);
        const seqs = held.map((h) => seqOf(xsk.umem.subarray(h.at, h.at + h.len)));
        expect(seqs.sort((a, b) => a - b)).toEqual(probes.map((_, i) => 1000 + i));
        // 40 of the 64 UMEM frames are held: the kernel cannot fill them.
        expect(xskFill(xsk)).toBe(probes.length / 64);
        expect(xskRelease(xsk)).toBe(probes.length);
        expect(xskRelease(xsk)).toBe(0);
        expect(xskFill(xsk)).toBe(0);
      }
      expect(xskStats(xsk)).toMatchObject({ rxDropped: 0, rxRingFull: 0 });
    } finally {
      closeXsk(xsk);
    }
  }, 60_000);

  it('drops frames longer than a UMEM frame minus its headroom, and counts them', async () => {
    sh('ip', ['link', 'set', HOST_IF, 'mtu', '9000']);
    sh('ip', ['-n', lab.ns, 'link', 'set', PEER_IF, 'mtu', '9000']);
    const xsk = openXsk(HOST_IF, { frameCount: 64, frameSize: 2048 });
    try {
      expect(xsk.maxFrameLength).toBe(2048 - 256);
      const frames = [
        sizedProbe(1, 1792),
        sizedProbe(2, 1793),
        sizedProbe(3, 1500),
        sizedProbe(4, 4000),
      ];
      send(frames);
      const got = await drain(xsk, 2);
      expect(await drain(xsk, 1, 200)).toEqual([]);
      expect(got.map((f) => f.length).sort()).toEqual([1500, 1792]);
      expect(got.every((f) => frames.some((p) => p.equals(f)))).toBe(true);
      expect(xskStats(xsk)).toMatchObject({ rxDropped: 2, rxRingFull: 0 });
    } finally {
      closeXsk(xsk);
      sh('ip', ['-n', lab.ns, 'link', 'set', PEER_IF, 'mtu', '1500']);
      sh('ip', ['link', 'set', HOST_IF, 'mtu', '1500']);
    }
  }, 30_000);

  it('counts every frame it had no UMEM frame for, and gets its frames back after a release', async () => {
    // 64 frames and python holding the event loop: the kernel fills all 64
    // and must drop the rest of 300, each counted.
    const xsk = openXsk(HOST_IF, { frameCount: 64 });
    try {
      send(Array.from({ length: 300 }, (_, i) => probe(3000 + i)));
      const got = await drain(xsk, 64);
      expect(await drain(xsk, 1, 200)).toEqual([]);
      expect(got.length).toBe(64);
      const st = xskStats(xsk);
      expect(got.length + st.rxDropped + st.rxRingFull).toBe(300);
      expect(st.fillRingEmpty).toBeGreaterThan(0);
      // Released frames went back to the fill ring: new traffic arrives again.
      send(Array.from({ length: 30 }, (_, i) => probe(4000 + i)));
      const again = await drain(xsk, 30);
      expect(again.map((f) => seqOf(f)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => 4000 + i),
      );
      expect(xskStats(xsk).rxDropped).toBe(st.rxDropped);
    } finally {
      closeXsk(xsk);
    }
  }, 30_000);

  it('attaches natively (mode drv) on veth, refuses zero-copy, and falls back with zeroCopy auto', async () => {
    const probes = Array.from({ length: 20 }, (_, i) => probe(2000 + i));
    const xsk = openXsk(HOST_IF, { frameCount: 64, mode: 'drv' });
    try {
      expect(xdpProgram(HOST_IF)).toMatchObject({ name: 'xsk_def_prog', mode: 1 }); // 1: driver
      send(probes);
      const got = await drain(xsk, probes.length);
      expect(got.map((f) => seqOf(f)).sort((a, b) => a - b)).toEqual(
        probes.map((_, i) => 2000 + i),
      );
      for (const f of got) expect(f.equals(probes[seqOf(f) - 2000])).toBe(true);
    } finally {
      closeXsk(xsk);
    }
    expect(xdpProgram(HOST_IF)).toBeNull();

    expect(() => openXsk(HOST_IF, { frameCount: 64, mode: 'drv', zeroCopy: true })).toThrow(
      expect.objectContaining({ code: 'EOPNOTSUPP', message: expect.stringMatching(/zero-copy/) }),
    );
    expect(xdpProgram(HOST_IF), 'a refused open leaves nothing attached').toBeNull();
    const auto = openXsk(HOST_IF, { frameCount: 64, mode: 'drv', zeroCopy: 'auto' });
    try {
      expect(auto.zeroCopy).toBe(false);
      send(probes.slice(0, 4));
      expect((await drain(auto, 4)).length).toBe(4);
    } finally {
      closeXsk(auto);
    }

    // Native XDP on veth refuses a peer MTU above 3506.
    sh('ip', ['-n', lab.ns, 'link', 'set', PEER_IF, 'mtu', '4000']);
    try {
      expect(() => openXsk(HOST_IF, { frameCount: 64, mode: 'drv' })).toThrow(
        expect.objectContaining({ code: 'ERANGE' }),
      );
      expect(xdpProgram(HOST_IF)).toBeNull();
    } finally {
      sh('ip', ['-n', lab.ns, 'link', 'set', PEER_IF, 'mtu', '1500']);
    }
  }, 60_000);

  it('refuses misuse with Node-style codes, RangeError and TypeError', () => {
    expect(() => openXsk(`nope${lab.tag}`)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => openXsk(HOST_IF, { frameCount: 100 })).toThrow(RangeError); // not a power of two
    expect(() => openXsk(HOST_IF, { frameCount: 32 })).toThrow(RangeError);
    expect(() => openXsk(HOST_IF, { frameCount: 1 << 19 })).toThrow(RangeError);
    expect(() => openXsk(HOST_IF, { frameSize: 3000 as 4096 })).toThrow(RangeError);
    expect(() => openXsk(HOST_IF, { frameSize: 8192 as 4096 })).toThrow(RangeError);
    expect(() => openXsk(HOST_IF, { zeroCopy: true })).toThrow(RangeError); // needs drv
    expect(() => openXsk(HOST_IF, { queue: 5 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(xdpProgram(HOST_IF)).toBeNull();
    expect(native.XDP_PACKET_HEADROOM).toBe(XDP_PACKET_HEADROOM);

    const xsk = openXsk(HOST_IF, { frameCount: 64 });
    const addrs = new Int32Array(8);
    try {
      expect(() => xskReceive(xsk, addrs, new Int32Array(4), 8)).toThrow(RangeError);
      expect(() =>
        xskReceive(xsk, new Float64Array(8) as unknown as Int32Array, new Int32Array(8)),
      ).toThrow(TypeError);
      expect(xskReceive(xsk, addrs, new Int32Array(8))).toBe(0);
      expect(xskRelease(xsk)).toBe(0);
      // A second socket on the same queue: the queue is taken.
      expect(() => openXsk(HOST_IF, { frameCount: 64 })).toThrow(
        expect.objectContaining({ code: 'EBUSY' }),
      );
    } finally {
      closeXsk(xsk);
    }
    expect(() => closeXsk(xsk)).toThrow(TypeError);
    expect(() => xskReceive(xsk, addrs, addrs)).toThrow(TypeError);
    expect(() => xskStats(xsk)).toThrow(TypeError);
    expect(xdpProgram(HOST_IF)).toBeNull();
  }, 30_000);

  it('removes a stale libxdp program left by a killed process, shares a live one, and never touches a foreign one', async () => {
    // A child process opens queue 0 and is SIGKILLed later: no cleanup runs.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const n = require(${JSON.stringify(ADDON)});
         n.openXsk(${JSON.stringify(MQ_IF)}, 0, 64, 4096, 0, false);
         process.stdout.write('open\\n');
         setTimeout(() => {}, 60000);`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const opened = await new Promise<string>((resolve) => {
      let out = '';
      const timer = setTimeout(() => resolve(`timeout: ${out}`), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('open')) {
          clearTimeout(timer);
          resolve('open');
        }
      });
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    });
    expect(opened).toBe('open');
    const live = xdpProgram(MQ_IF);
    expect(live?.name).toBe('xsk_def_prog');

    // Another queue while the child lives: its program is shared, not replaced.
    const shared = openXsk(MQ_IF, { queue: 1, frameCount: 64 });
    expect(shared.staleProgramId).toBe(0);
    expect(xdpProgram(MQ_IF)?.id).toBe(live!.id);
    closeXsk(shared);
    expect(xdpProgram(MQ_IF)?.id, 'still in use by the child').toBe(live!.id);

    child.kill('SIGKILL');
    await exited;
    expect(xdpProgram(MQ_IF)?.id, 'left behind by the killed process').toBe(live!.id);

    const next = openXsk(MQ_IF, { queue: 0, frameCount: 64 });
    try {
      expect(next.staleProgramId).toBe(live!.id);
      const fresh = xdpProgram(MQ_IF);
      expect(fresh?.name).toBe('xsk_def_prog');
      expect(fresh?.id).not.toBe(live!.id);
    } finally {
      closeXsk(next);
    }
    expect(xdpProgram(MQ_IF), 'the fresh program goes with its last socket').toBeNull();

    if (!existsSync(FOREIGN_OBJ)) {
      console.warn(`skipped the foreign-program check: ${FOREIGN_OBJ} is missing (libxdp-dev)`);
      return;
    }
    // iproute2 mounts a bpffs on /sys/fs/bpf to pin the object's maps, which
    // would change how libxdp behaves on this machine from then on: load it
    // from a private mount namespace (the attachment belongs to the device).
    sh('unshare', [
      '--mount',
      '--propagation',
      'private',
      'ip',
      'link',
      'set',
      'dev',
      MQ_IF,
      'xdpgeneric',
      'obj',
      FOREIGN_OBJ,
      'sec',
      'xdp',
    ]);
    try {
      const foreign = xdpProgram(MQ_IF);
      expect(foreign?.name).toBe('xdpfilt_alw_all');
      expect(() => openXsk(MQ_IF, { frameCount: 64 })).toThrow(
        expect.objectContaining({
          code: 'EBUSY',
          message: expect.stringMatching(/"xdpfilt_alw_all".*left alone/),
        }),
      );
      expect(xdpProgram(MQ_IF)?.id, 'the foreign program is untouched').toBe(foreign!.id);
    } finally {
      quiet('ip', ['link', 'set', 'dev', MQ_IF, 'xdpgeneric', 'off']);
    }
  }, 60_000);
});
