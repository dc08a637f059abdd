// A VXLAN collector for the demo: an IDS stand-in on a UDP port that decodes
// every packet it gets (VXLAN header, then the inner frame) and counts the
// inner traffic by class, so a rule change shows in what arrives.
import { createSocket } from 'node:dgram';
import { decodeVxlan } from '@netmirror/encap';
import { decodeFrame, PacketView } from '@netmirror/packet';

const CLASSES = ['tcp/443', 'udp/53', 'icmp', 'other'];

export async function startVxlanCollector(port, host = '127.0.0.1') {
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0]));
  let undecodable = 0;
  const view = new PacketView();
  const socket = createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
  socket.on('message', (msg) => {
    const vx = decodeVxlan(msg);
    if (!vx.ok) return void undecodable++;
    decodeFrame(msg, vx.innerOffset, vx.innerLength, vx.innerLength, 1, view);
    if (view.malformed) return void undecodable++;
    counts[classify(view)]++;
  });
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return {
    port: socket.address().port,
    /** Counts since the last call. */
    take() {
      const out = { ...counts, undecodable };
      for (const c of CLASSES) counts[c] = 0;
      undecodable = 0;
      return out;
    },
    close: () => new Promise((r) => socket.close(() => r())),
  };
}

function classify(v) {
  if (v.ipProto === 6 && (v.srcPort === 443 || v.dstPort === 443)) return 'tcp/443';
  if (v.ipProto === 17 && (v.srcPort === 53 || v.dstPort === 53)) return 'udp/53';
  if (v.ipProto === 1 || v.ipProto === 58) return 'icmp';
  return 'other';
}

export function formatCounts(c) {
  return `${CLASSES.map((k) => `${k} ${c[k]}`).join(', ')}${c.undecodable ? `, undecodable ${c.undecodable}` : ''}`;
}
