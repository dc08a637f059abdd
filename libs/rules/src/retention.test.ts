import { describe, expect, it } from 'vitest';
import { validateRetention } from './retention.js';

describe('validateRetention', () => {
  it('accepts whole numbers for the four fields', () => {
    expect(validateRetention({ maxAgeSeconds: 3600, maxTotalBytes: 1 << 30 })).toEqual({
      maxAgeSeconds: 3600,
      maxTotalBytes: 1 << 30,
    });
    expect(validateRetention({})).toEqual({});
  });

  it.each([
    [null, 'retention: expected an object'],
    [[1], 'retention: expected an object'],
    [{ keep: 1 }, 'retention: unknown field "keep"'],
    [{ maxAgeSeconds: -1 }, 'retention.maxAgeSeconds: expected a whole number >= 0'],
    [{ maxAgeSeconds: 1.5 }, 'retention.maxAgeSeconds: expected a whole number >= 0'],
    [{ fileSeconds: '60' }, 'retention.fileSeconds: expected a whole number >= 0'],
    [{ fileBytes: 1000 }, 'retention.fileBytes: at least 65536'],
  ])('refuses %j', (spec, message) => {
    expect(() => validateRetention(spec)).toThrow(message);
  });
});
