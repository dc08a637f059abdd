import { isIP } from 'node:net';

/** An IPv4 or IPv6 prefix, as bytes and a prefix length. */
export interface Prefix {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare address; returns an error string when invalid. */
export function parsePrefix(text: string): Prefix | string {
  const [addr, len, extra] = text.trim().split('/');
  if (extra !== undefined) return `"${text}" is not an address or CIDR block`;
  const family = isIP(addr);
  if (family === 0) return `"${addr}" is not an IPv4 or IPv6 address`;
  const max = family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > max ||
    (len !== undefined && !/^\d+$/.test(len))
  ) {
    return `prefix length "${len}" must be 0-${max}`;
  }
  const bytes = family === 4 ? ipv4Bytes(addr) : ipv6Bytes(addr);
  return { family: family as 4 | 6, bytes, bits };
}

/** True when `buf[at ..]` (4 or 16 address bytes of `family`) lies inside `p`. */
export function prefixContains(p: Prefix, family: number, buf: Uint8Array, at: number): boolean {
  if (p.family !== family) return false;
  const full = p.bits >>> 3;
  const b = p.bytes;
  for (let i = 0; i < full; i++) if (buf[at + i] !== b[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (buf[at + full] & mask) === (b[full] & mask);
}

function ipv4Bytes(addr: string): Uint8Array {
  return Uint8Array.from(addr.split('.').map(Number));
}

function ipv6Bytes(addr: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = addr;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1]);
    text =
      text.slice(0, -v4[1].length) +
      `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [
          ...headGroups,
          ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
          ...tailGroups,
        ];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}
