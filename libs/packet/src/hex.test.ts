import { describe, expect, it } from 'vitest';
import { hex } from './hex.js';

describe('hex', () => {
  it('reads annotated dumps', () => {
    expect(hex`45 00 // comment
      00 3c`).toEqual(Buffer.from([0x45, 0, 0, 0x3c]));
  });
  it('rejects odd digits', () => {
    expect(() => hex('4')).toThrow(/even run/);
  });
});
