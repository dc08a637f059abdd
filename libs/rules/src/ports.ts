import type { PortRange } from './types.js';

/** Parses 443, "1000-2000" or a list of them; returns an error string when invalid. */
export function parsePorts(value: unknown): PortRange[] | string {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return 'empty list';
  const out: PortRange[] = [];
  for (const item of list) {
    const r = parsePort(item);
    if (typeof r === 'string') return r;
    out.push(r);
  }
  return out;
}

function parsePort(item: unknown): PortRange | string {
  if (typeof item === 'number') {
    return isPort(item) ? { from: item, to: item } : `${item} is not a port 0-65535`;
  }
  if (typeof item === 'string') {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(item);
    if (m) {
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (isPort(from) && isPort(to) && from <= to) return { from, to };
    }
  }
  return `"${String(item)}" is not a port or a range lo-hi within 0-65535`;
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}
