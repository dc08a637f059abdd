import { hex } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from './cobs.js';

const range = (from: number, to: number): Buffer =>
  Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => from + i));

// The examples of Cheshire & Baker's paper as Wikipedia lists them.
const fixtures: [string, Buffer, Buffer][] = [
  ['one zero', hex`00`, hex`01 01`],
  ['two zeros', hex`00 00`, hex`01 01 01`],
  ['zero, byte, zero', hex`00 11 00`, hex`01 02 11 01`],
  ['zero inside', hex`11 22 00 33`, hex`03 11 22 02 33`],
  ['no zero', hex`11 22 33 44`, hex`05 11 22 33 44`],
  ['trailing zeros', hex`11 00 00 00`, hex`02 11 01 01 01`],
  [
    '254 non-zero: one full block, no extra code',
    range(1, 0xfe),
    Buffer.concat([hex`ff`, range(1, 0xfe)]),
  ],
  [
    'zero then 254 non-zero',
    Buffer.concat([hex`00`, range(1, 0xfe)]),
    Buffer.concat([hex`01 ff`, range(1, 0xfe)]),
  ],
  [
    '255 non-zero: full block then one',
    range(1, 0xff),
    Buffer.concat([hex`ff`, range(1, 0xfe), hex`02 ff`]),
  ],
  [
    '254 non-zero then zero',
    Buffer.concat([range(2, 0xff), hex`00`]),
    Buffer.concat([hex`ff`, range(2, 0xff), hex`01 01`]),
  ],
  [
    '253 non-zero, zero, one',
    Buffer.concat([range(3, 0xff), hex`00 01`]),
    Buffer.concat([hex`fe`, range(3, 0xff), hex`02 01`]),
  ],
];

describe('COBS', () => {
  it.each(fixtures)('encodes and decodes: %s', (_name, plain, encoded) => {
    expect(cobsEncode(plain).toString('hex')).toBe(encoded.toString('hex'));
    expect(Buffer.from(cobsDecode(encoded) as Buffer).toString('hex')).toBe(plain.toString('hex'));
    expect(encoded.includes(0)).toBe(false);
    expect(encoded.length).toBeLessThanOrEqual(cobsMaxEncodedLength(plain.length));
  });

  it('round-trips random data of every length up to 600', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n <= 600; n++) {
      // Mostly zeros, mostly non-zeros, or mixed, to hit every block shape.
      const zeroEvery = [2, 300, 9][n % 3];
      const plain = Buffer.from(
        Array.from({ length: n }, () => (next() % zeroEvery === 0 ? 0 : (next() % 255) + 1)),
      );
      const encoded = cobsEncode(plain);
      expect(encoded.includes(0)).toBe(false);
      expect(encoded.length).toBeLessThanOrEqual(cobsMaxEncodedLength(n));
      expect(Buffer.from(cobsDecode(encoded) as Buffer).equals(plain)).toBe(true);
    }
  });

  it.each([
    ['empty', hex``, 'empty'],
    ['a zero inside', hex`03 11 00 22`, 'zero byte at 2'],
    ['a zero code', hex`00 11`, 'zero byte at 0'],
    ['a block past the end', hex`05 11 22`, 'block at 0 runs past the end'],
    ['a later block past the end', hex`02 11 ff 22`, 'block at 2 runs past the end'],
  ])('rejects %s without throwing', (_name, encoded, why) => {
    expect(cobsDecode(encoded)).toBe(why);
  });
});
