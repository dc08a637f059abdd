import { describe, expect, it } from 'vitest';
import { buildDesired, buildKeyDelivery } from './build.js';
import { DesiredStateGate } from './desired-gate.js';

const spec1 = { rules: [{ name: 'dns', priority: 10 }] };
const spec2 = {
  rules: [
    { name: 'dns', priority: 10 },
    { name: 'web', priority: 20 },
  ],
};

describe('DesiredStateGate', () => {
  it('accepts the first version and then only higher ones', () => {
    const gate = new DesiredStateGate();
    const v1 = buildDesired('policy', 1, spec1);
    expect(gate.check(v1)).toEqual({ ok: true, domain: 'policy' });
    gate.markApplied('policy', { version: 1, hash: v1.hash });
    expect(gate.check(buildDesired('policy', 2, spec2))).toEqual({ ok: true, domain: 'policy' });
    expect(gate.check(buildDesired('policy', 5, spec2)).ok).toBe(true); // gaps are fine
  });

  it('tells a redelivered retained message from a replay of an older one', () => {
    const v2 = buildDesired('policy', 2, spec2);
    const gate = new DesiredStateGate({ policy: { version: 2, hash: v2.hash } });
    expect(gate.check(v2)).toEqual({
      ok: false,
      domain: 'policy',
      kind: 'duplicate',
      reason: 'policy version 2 is already in effect',
    });
    expect(gate.check(buildDesired('policy', 1, spec1))).toEqual({
      ok: false,
      domain: 'policy',
      kind: 'stale',
      reason: 'policy version 1 is older than version 2 in effect',
    });
    const other = buildDesired('policy', 2, spec1);
    expect(gate.check(other)).toMatchObject({ ok: false, kind: 'conflict' });
  });

  it('rejects a hash that does not match the spec', () => {
    const gate = new DesiredStateGate();
    const forged = {
      ...buildDesired('retention', 1, { maxAgeDays: 7 }),
      spec: { maxAgeDays: 700 },
    };
    const r = gate.check(forged);
    expect(r).toMatchObject({ ok: false, kind: 'hash-mismatch' });
    expect(!r.ok && r.reason).toMatch(
      /^retention version 1: hash sha256:[0-9a-f]{64} does not match content \(sha256:[0-9a-f]{64}\)$/,
    );
  });

  it('keeps domains apart, keys included', () => {
    const gate = new DesiredStateGate({
      policy: { version: 9, hash: buildDesired('policy', 9, spec1).hash },
    });
    expect(gate.check(buildDesired('retention', 1, { maxAgeDays: 7 })).ok).toBe(true);
    const keys = buildKeyDelivery(1, [{ keyId: 'k1', alg: 'x25519', wrapped: 'AAAA' }]);
    expect(gate.check(keys)).toEqual({ ok: true, domain: 'keys' });
    gate.markApplied('keys', { version: 1, hash: keys.hash });
    expect(gate.check(keys)).toMatchObject({ ok: false, kind: 'duplicate' });
    expect(gate.snapshot()).toEqual({
      policy: expect.objectContaining({ version: 9 }),
      keys: { version: 1, hash: keys.hash },
    });
  });

  it('does not go backwards', () => {
    const gate = new DesiredStateGate({
      policy: { version: 3, hash: buildDesired('policy', 3, spec1).hash },
    });
    expect(() => gate.markApplied('policy', { version: 3, hash: 'sha256:x' })).toThrow(RangeError);
  });
});
