/**
 * The simulated network: a few hundred hosts in local subnets (10.x,
 * 172.16.x, 192.168.x, each dual-stack in 2001:db8::/32 with an fe80::
 * link-local address) behind per-subnet gateways, plus public-looking
 * servers reached through the gateway. Built once per capture from the seed.
 */
import { parseIPv4, parseIPv6, type Ip6, type Mac } from './addr.js';
import type { Prng } from './prng.js';

interface SubnetDef {
  v4: string; // a.b.c.0/24
  v6: string; // 2001:db8:x:y::/64 prefix (first 8 bytes)
}

const SUBNETS: readonly SubnetDef[] = [
  { v4: '10.1.1.0', v6: '2001:db8:1:1::' },
  { v4: '10.1.2.0', v6: '2001:db8:1:2::' },
  { v4: '10.20.0.0', v6: '2001:db8:20::' }, // data centre: servers
  { v4: '172.16.10.0', v6: '2001:db8:172:10::' },
  { v4: '172.16.20.0', v6: '2001:db8:172:20::' },
  { v4: '192.168.1.0', v6: '2001:db8:c0a8:1::' },
  { v4: '192.168.100.0', v6: '2001:db8:c0a8:100::' },
];

/** Public-looking servers: first the well-known resolvers and time servers, then address pools. */
const PUBLIC_FIXED = ['8.8.8.8', '1.1.1.1', '9.9.9.9', '162.159.200.1', '129.6.15.28'];
const PUBLIC_POOLS = [
  '93.184.216.0',
  '151.101.0.0',
  '104.16.0.0',
  '142.250.0.0',
  '52.95.0.0',
  '13.107.0.0',
  '185.199.108.0',
];

const OUIS = [
  [0x00, 0x1b, 0x21], // Intel
  [0x3c, 0xfd, 0xfe], // Intel
  [0x00, 0x50, 0x56], // VMware
  [0xb8, 0x27, 0xeb], // Raspberry Pi
  [0xf4, 0x8e, 0x38], // Dell
  [0x00, 0x25, 0x90], // Supermicro
  [0x02, 0x42, 0xac], // Docker (locally administered)
];

export const LOCAL_PER_SUBNET = 36;
export const PUBLIC_COUNT = 80;

export class Topology {
  readonly count: number;
  readonly ip4: Uint32Array;
  readonly ip6: Ip6[];
  readonly ll6: Ip6[];
  readonly mac: Mac[];
  /** Subnet index, or -1 for public hosts. */
  readonly subnet: Int8Array;
  /** Initial TTL / hop limit of the host's OS (64 or 128). */
  readonly ttl: Uint8Array;
  /** Routers between the tap and a public host. */
  readonly hops: Uint8Array;
  readonly gatewayMac: Mac[];
  readonly gatewayIp4: Uint32Array;
  readonly subnetCount = SUBNETS.length;
  /** Host indexes by role. */
  readonly local: Int32Array;
  readonly publicHosts: Int32Array;
  readonly dataCentre: Int32Array;
  readonly dns: Int32Array;
  readonly ntp: Int32Array;
  readonly snmpAgents: Int32Array;
  readonly snmpManager: number;
  readonly smtp: Int32Array;
  readonly vteps: Int32Array;
  readonly greEndpoints: Int32Array;

  constructor(rng: Prng) {
    const local = SUBNETS.length * LOCAL_PER_SUBNET;
    const vtepCount = 6;
    const greCount = 4;
    this.count = local + PUBLIC_COUNT + vtepCount + greCount;
    const n = this.count;
    this.ip4 = new Uint32Array(n);
    this.ip6 = Array.from({ length: n }, () => new Uint8Array(16));
    this.ll6 = Array.from({ length: n }, () => new Uint8Array(16));
    this.mac = Array.from({ length: n }, () => new Uint8Array(6));
    this.subnet = new Int8Array(n);
    this.ttl = new Uint8Array(n);
    this.hops = new Uint8Array(n);
    this.gatewayMac = SUBNETS.map((_, i) => Uint8Array.from([0x00, 0x00, 0x5e, 0x00, 0x01, i + 1]));
    this.gatewayIp4 = Uint32Array.from(SUBNETS.map((s) => parseIPv4(s.v4) + 1));

    let h = 0;
    const setMac = (i: number): void => {
      const oui = OUIS[rng.int(OUIS.length)];
      const m = this.mac[i];
      m[0] = oui[0];
      m[1] = oui[1];
      m[2] = oui[2];
      m[3] = rng.int(256);
      m[4] = rng.int(256);
      m[5] = (i & 0xff) ^ rng.int(4);
      // Link-local fe80::/64 with a modified EUI-64 interface id.
      const ll = this.ll6[i];
      ll[0] = 0xfe;
      ll[1] = 0x80;
      ll[8] = m[0] ^ 0x02;
      ll[9] = m[1];
      ll[10] = m[2];
      ll[11] = 0xff;
      ll[12] = 0xfe;
      ll[13] = m[3];
      ll[14] = m[4];
      ll[15] = m[5];
    };
    for (let s = 0; s < SUBNETS.length; s++) {
      const base4 = parseIPv4(SUBNETS[s].v4);
      const prefix6 = parseIPv6(SUBNETS[s].v6);
      for (let k = 0; k < LOCAL_PER_SUBNET; k++, h++) {
        // .2 is the subnet's switch (an SNMP agent); servers in the data centre get fixed low numbers.
        const last = k === 0 ? 2 : 10 + (k - 1) * 6 + rng.int(6);
        this.ip4[h] = base4 + last;
        this.ip6[h].set(prefix6.subarray(0, 8));
        this.ip6[h][14] = rng.int(256);
        this.ip6[h][15] = last;
        this.subnet[h] = s;
        this.ttl[h] = rng.chance(0.3) ? 128 : 64;
        setMac(h);
      }
    }
    const pub0 = h;
    for (let k = 0; k < PUBLIC_COUNT; k++, h++) {
      if (k < PUBLIC_FIXED.length) this.ip4[h] = parseIPv4(PUBLIC_FIXED[k]);
      else this.ip4[h] = parseIPv4(PUBLIC_POOLS[k % PUBLIC_POOLS.length]) + rng.range(1, 0x0ffe);
      const v6 = this.ip6[h];
      v6.set(parseIPv6(`2001:db8:f${(k % 16).toString(16)}00::`));
      v6[13] = rng.int(256);
      v6[14] = k >> 8;
      v6[15] = k & 0xff;
      this.subnet[h] = -1;
      this.ttl[h] = rng.chance(0.8) ? 64 : 128;
      this.hops[h] = rng.range(4, 18);
      setMac(h);
    }
    const vtep0 = h;
    for (let k = 0; k < vtepCount; k++, h++) {
      this.ip4[h] = parseIPv4('10.255.0.0') + 11 + k;
      this.ip6[h].set(parseIPv6(`2001:db8:ff::${11 + k}`));
      this.subnet[h] = 2;
      this.ttl[h] = 64;
      setMac(h);
    }
    const gre0 = h;
    for (let k = 0; k < greCount; k++, h++) {
      this.ip4[h] = k < 2 ? parseIPv4('10.254.0.1') + k : parseIPv4('198.51.100.1') + k;
      this.subnet[h] = 2;
      this.ttl[h] = 255;
      setMac(h);
    }
    const range = (a: number, b: number): Int32Array =>
      Int32Array.from({ length: b - a }, (_, i) => a + i);
    this.local = range(0, local);
    this.publicHosts = range(pub0 + PUBLIC_FIXED.length, pub0 + PUBLIC_COUNT);
    const dc = 2 * LOCAL_PER_SUBNET;
    this.dataCentre = range(dc + 1, dc + LOCAL_PER_SUBNET);
    this.dns = Int32Array.from([dc + 1, dc + 2, pub0, pub0 + 1, pub0 + 2]);
    this.ntp = Int32Array.from([dc + 3, pub0 + 3, pub0 + 4]);
    this.snmpAgents = Int32Array.from(SUBNETS.map((_, s) => s * LOCAL_PER_SUBNET));
    this.snmpManager = dc + 4;
    this.smtp = Int32Array.from([dc + 5, dc + 6, pub0 + 10, pub0 + 11]);
    this.vteps = range(vtep0, vtep0 + vtepCount);
    this.greEndpoints = range(gre0, gre0 + greCount);
  }

  isLocal(h: number): boolean {
    return this.subnet[h] >= 0;
  }

  /** Source MAC of a frame from `from` to `to` as seen at the tap (a public sender appears as the gateway). */
  l2Src(from: number, to: number): Mac {
    if (this.subnet[from] >= 0) return this.mac[from];
    return this.gatewayMac[Math.max(this.subnet[to], 0)];
  }

  /** Destination MAC: the host itself on its own segment or from outside, else the sender's gateway. */
  l2Dst(from: number, to: number): Mac {
    const st = this.subnet[to];
    if (st >= 0 && (st === this.subnet[from] || this.subnet[from] < 0)) return this.mac[to];
    return this.gatewayMac[Math.max(this.subnet[from], 0)];
  }

  /** TTL (or hop limit) of a packet from `from` as seen at the tap. */
  ttlSeen(from: number): number {
    return this.ttl[from] - this.hops[from];
  }
}
