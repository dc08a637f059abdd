/**
 * Address types and parsers. MACs and IPv6 addresses are 6- and 16-byte
 * arrays (allocated once, reused per frame); IPv4 addresses are unsigned
 * 32-bit numbers.
 */

/** A 6-byte MAC address. */
export type Mac = Uint8Array;
/** A 16-byte IPv6 address. */
export type Ip6 = Uint8Array;

export function parseMac(text: string): Mac {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`mac: cannot parse ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`ipv4: cannot parse ${JSON.stringify(text)}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0) >>> 0;
}

export function formatIPv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff].join('.');
}

export function parseIPv6(text: string): Ip6 {
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`ipv6: cannot parse ${JSON.stringify(text)}`);
  const groups = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g))
            throw new Error(`ipv6: cannot parse ${JSON.stringify(text)}`);
          return parseInt(g, 16);
        });
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0 || (halves.length === 2 && fill < 1)) {
    throw new Error(`ipv6: cannot parse ${JSON.stringify(text)}`);
  }
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Copies `len` bytes from `src` into `buf` at `at` without allocating. */
export function copyBytes(buf: Uint8Array, at: number, src: Uint8Array, len = src.length): void {
  for (let i = 0; i < len; i++) buf[at + i] = src[i];
}
