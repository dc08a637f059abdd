// The xdp: tap against real traffic: a veth pair with one end in a namespace
// of its own (IPv6 off), python3 sending sequence-numbered probes into it with
// a raw AF_PACKET socket, and the tap on the root-side end. Needs root, ip and
// python3.
import { sh, VethLab } from '@netmirror/native/testing';
import { FrameBatch, LinkType } from '@netmirror/packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XdpTap, xdpTapOptions } from './xdp-tap.js';

describe('xdpTapOptions', () => {
  const uri = 'xdp:eth1';
  it('has safe defaults', () => {
    expect(xdpTapOptions(uri, undefined)).toEqual({
      queue: 0,
      frames: 65536,
      frameSize: 2048,
      mode: 'skb',
      zeroCopy: false,
    });
  });

  it('parses every option', () => {
    expect(xdpTapOptions(uri, 'queue=3&frames=1024&framesize=2048&mode=drv&zc=auto')).toEqual({
      queue: 3,
      frames: 1024,
      frameSize: 2048,
      mode: 'drv',
      zeroCopy: 'auto',
    });
    expect(xdpTapOptions(uri, 'mode=drv&zc=1').zeroCopy).toBe(true);
    expect(xdpTapOptions(uri, 'zc=0').zeroCopy).toBe(false);
  });

  it('names the option in every error', () => {
    expect(() => xdpTapOptions(uri, 'queue=-1')).toThrow(/xdp:eth1: queue=-1: must be an integer/);
    expect(() => xdpTapOptions(uri, 'frames=1000')).toThrow(/frames=1000: must be a power of two/);
    expect(() => xdpTapOptions(uri, 'frames=32')).toThrow(/frames=32: must be an integer in 64/);
    expect(() => xdpTapOptions(uri, 'framesize=3000')).toThrow(
      /framesize=3000: must be 2048 or 4096/,
    );
    expect(() => xdpTapOptions(uri, 'mode=native')).toThrow(/mode=native: must be skb or drv/);
    expect(() => xdpTapOptions(uri, 'zc=yes')).toThrow(/zc=yes: must be 0, 1 or auto/);
    expect(() => xdpTapOptions(uri, 'zc=1')).toThrow(/zc=1 needs mode=drv/);
    expect(() => xdpTapOptions(uri, 'snaplen=64')).toThrow(/unknown option snaplen; xdp takes/);
  });
});

const lab = new VethLab('t');
const HOST_IF = lab.hostIf;

/** Probe i: to a MAC nobody owns, every other one 802.1Q-tagged, seq at a fixed place after the tags. */
function probe(i: number): Buffer {
  const head = Buffer.from('02005e000c0102005e000c02', 'hex');
  const vlan = i % 2 ? Buffer.from([0x81, 0x00, 0x00, 1 + (i % 100)]) : Buffer.alloc(0);
  const body = Buffer.alloc(46 + (i % 200));
  body.writeUInt16BE(0x88b5, 0);
  body.writeUInt32BE(i, 2);
  for (let j = 6; j < body.length; j++) body[j] = (i * 3 + j) & 0xff;
  return Buffer.concat([head, vlan, body]);
}
function seqOf(frame: Uint8Array): number {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const at = b.readUInt16BE(12) === 0x8100 ? 16 : 12;
  return b.readUInt32BE(at + 2);
}

describe('XdpTap on a veth pair', () => {
  beforeAll(() => {
    lab.create();
  }, 30_000);

  afterAll(() => lab.remove());

  it('hands out every frame once, straight from the UMEM, with the batch time and no drops', async () => {
    const N = 300;
    const probes = Array.from({ length: N }, (_, i) => probe(i));
    const uri = `xdp:${HOST_IF}?frames=512&framesize=2048`;
    const tap = new XdpTap(uri, HOST_IF, xdpTapOptions(uri, 'frames=512&framesize=2048'));
    const batch = new FrameBatch(16); // smaller than a receive batch: it spans several next() calls
    const seen = new Array<number>(N).fill(0);
    try {
      expect(tap.live).toBe(true);
      expect(tap.linkTypes[0]).toBe(LinkType.ETHERNET);
      expect(tap.interfaces).toEqual([
        { linkType: LinkType.ETHERNET, snapLen: 2048 - 256, name: HOST_IF },
      ]);
      expect('prefilter' in tap).toBe(false);
      expect(sh('ip', ['link', 'show', 'dev', HOST_IF])).toMatch(/prog\/xdp .*xsk_def_prog/);

      // Quiet link: ready() settles on its own within ~100 ms.
      const t0 = Date.now();
      const quietWait = tap.ready();
      expect(quietWait).not.toBeNull();
      await quietWait;
      expect(Date.now() - t0).toBeLessThan(2_000);

      const file = lab.framesFile(probes);
      const before = Date.now();
      expect(lab.sendFile(file)).toBe(N);

      let frames = 0;
      const deadline = Date.now() + 10_000;
      for (let round = 0; round < 10_000 && frames < N && Date.now() < deadline; round++) {
        const wait = tap.ready();
        if (wait) {
          await wait;
          continue;
        }
        const n = tap.next(batch);
        if (n < 0) continue;
        expect(n).toBeGreaterThan(0);
        for (let i = 0; i < n; i++) {
          const bytes = batch.buf.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i]);
          expect(batch.wirelen[i]).toBe(batch.caplen[i]);
          expect(batch.flags[i]).toBe(1); // inbound
          expect(batch.ifIndex[i]).toBe(0);
          const ms = batch.tsSec[i] * 1000 + batch.tsNsec[i] / 1e6;
          expect(ms).toBeGreaterThanOrEqual(before - 1);
          expect(ms).toBeLessThanOrEqual(Date.now() + 1);
          const seq = seqOf(bytes);
          seen[seq]++;
          expect(Buffer.from(bytes).equals(probes[seq]), `probe ${seq}`).toBe(true);
        }
        frames += n;
      }
      expect(frames).toBe(N);
      expect(seen.filter((c) => c !== 1).length).toBe(0);
      expect(tap.sourceDrops()).toEqual([0]);
    } finally {
      tap.close();
    }
    expect(tap.ready()).toBeNull();
    expect(tap.next(batch)).toBe(0);
    expect(tap.sourceDrops()).toEqual([0]);
    expect(sh('ip', ['link', 'show', 'dev', HOST_IF])).not.toMatch(/prog\/xdp/);
    tap.close(); // twice is fine
  }, 60_000);
});
