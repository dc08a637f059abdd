import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode.js';
import { FLOW_KEY_BYTES, flowHash, formatFlow, writeFlowKey } from './flow-key.js';
import { hex } from './hex.js';
import { PacketView } from './packet-view.js';
import { qinqDns, tcpSyn } from './test-frames.js';

function view(frame: Uint8Array): PacketView {
  return decodeFrame(frame, 0, frame.length, frame.length, 1, new PacketView());
}

/** Swaps source and destination addresses and ports of an untagged IPv4/TCP frame. */
function reverse(frame: Buffer): Buffer {
  const r = Buffer.from(frame);
  frame.copy(r, 26, 30, 34);
  frame.copy(r, 30, 26, 30);
  frame.copy(r, 34, 36, 38);
  frame.copy(r, 36, 34, 36);
  return r;
}

describe('flow key', () => {
  it('is the same for both directions', () => {
    const a = view(tcpSyn);
    const b = view(reverse(tcpSyn));
    expect(formatFlow(b)).toBe('10.0.0.5:443 > 192.168.1.10:51000 proto 6');
    expect(flowHash(a)).toBe(flowHash(b));
    const ka = new Uint8Array(FLOW_KEY_BYTES);
    const kb = new Uint8Array(FLOW_KEY_BYTES);
    writeFlowKey(a, ka, 0);
    writeFlowKey(b, kb, 0);
    expect(Buffer.from(ka).equals(Buffer.from(kb))).toBe(true);
  });

  it('differs when the port, the protocol or the VLAN differs', () => {
    const base = flowHash(view(tcpSyn));
    const otherPort = Buffer.from(tcpSyn);
    otherPort[37] = 0x50; // dst port 336
    expect(flowHash(view(otherPort))).not.toBe(base);
    const tagged = Buffer.concat([tcpSyn.subarray(0, 12), hex`81 00 00 0a`, tcpSyn.subarray(12)]);
    expect(flowHash(view(tagged))).not.toBe(base);
    expect(flowHash(view(qinqDns))).not.toBe(base);
  });

  it('spreads flows evenly', () => {
    const f = Buffer.from(tcpSyn);
    const buckets = new Array<number>(16).fill(0);
    const v = new PacketView();
    for (let port = 1024; port < 1024 + 16_000; port++) {
      f.writeUInt16BE(port, 34);
      decodeFrame(f, 0, f.length, f.length, 1, v);
      buckets[flowHash(v) & 15]++;
    }
    for (const n of buckets) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});
