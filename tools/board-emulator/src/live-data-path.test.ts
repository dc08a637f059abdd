// The emulated board's data path on live interfaces: frames sent into a veth
// (the board's ingress port p0) come out of another veth (its monitor port
// mon0) as the programmed table selects them, tags included.
import {
  BoardClient,
  encodeTcamBank,
  loadBoardProfile,
  tcamGeometry,
  tcamTarget,
} from '@netmirror/fpga';
import {
  closeRing,
  frameBytes,
  nextBlock,
  openPacketRing,
  releaseBlock,
  walkBlock,
} from '@netmirror/native';
import { VethLab } from '@netmirror/native/testing';
import { compileRulesTcam, validateRuleSet } from '@netmirror/rules';
import { openSerialTransport, SerialLink } from '@netmirror/serial-link';
import { createPtyPair } from '@netmirror/serial-link/testing';
import type { PtyPair } from '@netmirror/serial-link/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardEmulator } from './emulator.js';
import { openPortOutput } from './outputs.js';

const lab = new VethLab('be');
const MON_HOST = `nmbem${lab.tag}`;
const MON_PEER = `nmben${lab.tag}`;

/** UDP frame i to port 53 (even i) or 80 (odd i), every third one 802.1Q-tagged (VLAN 20). */
function frame(i: number): Buffer {
  const eth = Buffer.from('02005e00be0102005e00be02', 'hex');
  const tag = i % 3 === 0 ? Buffer.from([0x81, 0x00, 0x00, 20]) : Buffer.alloc(0);
  const ip = Buffer.from('4500002e000040004011000' + '00a000001' + '0a000002', 'hex');
  ip.writeUInt16BE(0, 10);
  const udp = Buffer.alloc(26);
  udp.writeUInt16BE(40000 + i, 0);
  udp.writeUInt16BE(i % 2 === 0 ? 53 : 80, 2);
  udp.writeUInt16BE(26, 4);
  udp.writeUInt32BE(i, 8);
  return Buffer.concat([eth, tag, Buffer.from([0x08, 0x00]), ip, udp]);
}

describe('the emulated board on live interfaces', () => {
  let pty: PtyPair;
  beforeAll(async () => {
    lab.create();
    lab.addPair(MON_HOST, MON_PEER);
    pty = await createPtyPair();
  }, 30_000);
  afterAll(async () => {
    await pty?.close();
    lab.remove();
  });

  it('copies what its table selects from the ingress veth to the monitor veth', async () => {
    const profile = loadBoardProfile('nm-tap-4x10g');
    const emulator = new BoardEmulator({
      profile,
      transport: await openSerialTransport(pty.a, 921600),
      baudRate: 921600,
      outputs: new Map([[0, openPortOutput(`iface:${MON_HOST}`)]]),
    });
    const link = new SerialLink(await openSerialTransport(pty.b, 921600), {
      baudRate: 921600,
      window: 8,
    });
    // What leaves the monitor port, seen from the far end of its veth.
    const watch = openPacketRing(MON_HOST, { blockSize: 1 << 16, blockCount: 64, timeoutMs: 5 });
    try {
      emulator.feedInterface(lab.hostIf, 0);
      const client = new BoardClient(link, profile);
      await client.identify();
      const rules = validateRuleSet({
        rules: [
          { name: 'dns', priority: 1, action: 'mirror', match: { protocol: 'udp', dstPort: 53 } },
        ],
      });
      const program = compileRulesTcam(
        rules,
        tcamTarget(profile, () => 1),
      );
      await client.programTcam(
        encodeTcamBank(program.entries, profile),
        program.entries.length * tcamGeometry(profile).entryBytes,
      );
      await client.setMirroring(true);
      const sent = Array.from({ length: 200 }, (_, i) => frame(i));
      expect(await lab.sendAsync(sent)).toBe(200);
      const expected = sent.filter((_, i) => i % 2 === 0).map((f) => f.toString('hex'));
      const got: string[] = [];
      const deadline = Date.now() + 10_000;
      while (got.length < expected.length && Date.now() < deadline) {
        const block = nextBlock(watch, 100);
        if (!block) continue;
        for (const f of walkBlock(block)) got.push(frameBytes(block, f).toString('hex'));
        releaseBlock(watch);
      }
      expect(got.sort()).toEqual([...expected].sort());
      const ports = await client.portCounters();
      expect(ports[0].rxFrames).toBeGreaterThanOrEqual(200);
      expect(ports.find((p) => p.name === 'mon0')?.txFrames).toBe(100);
    } finally {
      closeRing(watch);
      await link.close();
      await emulator.close();
    }
  }, 30_000);
});
