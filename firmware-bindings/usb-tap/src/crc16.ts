// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, no final
// xor), the header check of a stream record: cheap in an FPGA, and a
// table makes it cheap here.

const table = makeTable();

function makeTable(): Uint16Array {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1;
    t[n] = c & 0xffff;
  }
  return t;
}

/** CRC-16/CCITT-FALSE of `data[start, end)`. */
export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let c = 0xffff;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ table[((c >>> 8) ^ data[i]) & 0xff];
  return c;
}
