/** VXLAN and GRE-TEB tunnels around an inner flow's frame. */
import { EtherType, IpProto } from '@netmirror/packet';
import { K_VXLAN } from './kinds.js';
import { writeUdp } from './transport.js';
import { VXLAN_PORT, writeGre, writeVxlan } from './tunnel.js';
import { AUX } from './flow-consts.js';
import type { Flows } from './flows.js';

/** The inner flow's next frame inside VXLAN or GRE between the tunnel's endpoints. */
export function emitTunnel(fl: Flows, f: number, buf: Buffer, off: number): number {
  const vxlan = fl.kind[f] === K_VXLAN;
  const a = f * AUX;
  const g = fl.inner[f];
  const hasKey = fl.aux[a + 1] === 1;
  const l2 = fl.l2Len(f);
  const tun = vxlan ? 16 : hasKey ? 8 : 4;
  const innerLen = fl.emit(g, buf, off + l2 + 20 + tun);
  const dir = fl.fromClient;
  const from = dir ? fl.c[f] : fl.s[f];
  const to = dir ? fl.s[f] : fl.c[f];
  fl.l2(f, buf, off, from, to, EtherType.IPV4);
  const ip = off + l2;
  if (vxlan) {
    // Source port from the inner flow's hash, as VTEPs do for ECMP entropy; checksum zero (RFC 7348).
    const sport =
      49152 + ((fl.sport[g] * 40503 + fl.dport[g] + fl.c[g] * 7 + fl.s[g] * 13) & 0x3fff);
    const u = fl.udpSpec;
    u.srcPort = sport;
    u.dstPort = VXLAN_PORT;
    u.payloadLength = 8 + innerLen;
    writeUdp(buf, ip + 20, u);
    writeVxlan(buf, ip + 28, fl.aux[a]);
    fl.ip4(buf, ip, f, from, to, IpProto.UDP, 16 + innerLen, true);
  } else {
    fl.greKey.key = fl.aux[a];
    writeGre(buf, ip + 20, hasKey ? fl.greKey : fl.greNoKey);
    fl.ip4(buf, ip, f, from, to, IpProto.GRE, tun + innerLen, false);
  }
  return l2 + 20 + tun + innerLen;
}
