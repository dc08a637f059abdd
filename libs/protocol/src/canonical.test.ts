import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from './canonical.js';

describe('canonical JSON and content hash', () => {
  it('sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: [3, { y: 1, x: 'é' }], a: null, c: true })).toBe(
      '{"a":null,"b":[3,{"x":"é","y":1}],"c":true}',
    );
  });

  it('hashes equal content equally, whatever the key order', () => {
    const a = {
      rules: [{ name: 'dns', match: { protocol: 'udp', port: 53 } }],
      destinations: { ids: 'vxlan://10.0.0.1' },
    };
    const b = JSON.parse(
      '{"destinations":{"ids":"vxlan://10.0.0.1"},"rules":[{"match":{"port":53,"protocol":"udp"},"name":"dns"}]}',
    );
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(contentHash({ x: 1 })).not.toBe(contentHash({ x: 2 }));
    expect(contentHash([1, 2])).not.toBe(contentHash([2, 1]));
  });

  it('is the sha256 of the canonical text', () => {
    // echo -n '{"a":1,"b":[true,"x"]}' | sha256sum
    expect(contentHash({ b: [true, 'x'], a: 1 })).toBe(
      'sha256:' + '63e8063d9dc6f0fd5a24b4706818a165fd57c3531b74466cf5dea62bff09b0b6',
    );
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([undefined])).toThrow(TypeError);
    expect(() => canonicalJson({ x: 1n })).toThrow(TypeError);
    expect(canonicalJson({ x: undefined, y: 1 })).toBe('{"y":1}');
  });
});
