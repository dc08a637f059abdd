import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { vxlanSourcePort } from '@netmirror/encap';
import { decodeFrame, FrameBatch, flowHash, PacketView } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { validateRuleSet } from '@netmirror/rules';
import { MirrorSession } from '../pipeline/index.js';
import { PcapFileTap } from '../taps/index.js';
import { openSink } from './open-sink.js';

describe('VXLAN destination', () => {
  let dir: string;
  let input: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-vxlan-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 400, seed: 17 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sends each flow from its own hashed source port, and cuts copies to fit mtu=N', async () => {
    const rx = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    const got: { msg: Buffer; port: number }[] = [];
    rx.on('message', (msg, rinfo) => got.push({ msg, port: rinfo.port }));
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    const mtu = 600;
    const sink = openSink('vx', `vxlan://127.0.0.1:${rx.address().port}?vni=77&mtu=${mtu}`);
    const summary = await new MirrorSession({
      tap: new PcapFileTap('pcap:in', input),
      ruleSet: validateRuleSet({ rules: [{ priority: 1, match: {} }] }),
      sinks: new Map([['vx', sink]]),
      defaultSinks: [sink],
    }).run();
    for (let t = 0; t < 100 && got.length < 400; t++) await new Promise((r) => setTimeout(r, 20));
    rx.close();

    // The expected copies: every input frame (all are Ethernet), cut to the room an
    // outer IPv4 (20) + UDP (8) + VXLAN (8) packet of 600 bytes leaves.
    const room = mtu - 20 - 8 - 8;
    const reader = openCaptureReader(input);
    const batch = new FrameBatch(400);
    reader.next(batch);
    reader.close();
    const view = new PacketView();
    let cut = 0;
    expect(got.length).toBe(400);
    for (let i = 0; i < 400; i++) {
      const o = batch.offset[i];
      const len = batch.caplen[i];
      if (len > room) cut++;
      const { msg, port } = got[i];
      expect(msg.length).toBeLessThanOrEqual(mtu - 20 - 8);
      expect(msg.readUIntBE(4, 3)).toBe(77); // VNI
      expect(
        msg.subarray(8).equals(batch.buf.subarray(o, o + Math.min(len, room))),
        `frame ${i}`,
      ).toBe(true);
      decodeFrame(batch.buf, o, len, batch.wirelen[i], 1, view);
      expect(port).toBe(vxlanSourcePort(flowHash(view)));
    }
    expect(cut).toBeGreaterThan(10);
    expect(summary.destinations[0]).toMatchObject({
      sent: 400,
      truncated: cut,
      dropped: 0,
      failed: 0,
    });
    expect(new Set(got.map((g) => g.port)).size).toBeGreaterThan(10);
  });
});
