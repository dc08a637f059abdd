import { describe, expect, it } from 'vitest';
import { readFirmwareInstallArgs, readFirmwareInstallResult } from './firmware.js';

const args = {
  imageId: '0b5d3c1e-7f1a-4c55-9a51-1f0e3b2d4c6a',
  url: 'http://127.0.0.1:8080/firmware/0b5d3c1e-7f1a-4c55-9a51-1f0e3b2d4c6a/image?token=abc',
  size: 4224,
  sha256: 'ab'.repeat(32),
  version: '1.2.0',
  board: 'nm-tap-4x10g',
};
const result = {
  outcome: 'rolled-back',
  version: '1.9.0',
  running: '1.0.0',
  previous: '1.0.0',
  resumedAt: 0,
  rulesRestored: true,
  message: 'firmware 1.9.0 rolled back: it failed its self-test; running 1.0.0 again',
};

describe('firmware.install args and result', () => {
  it('reads valid ones', () => {
    expect(readFirmwareInstallArgs(args)).toEqual({ ok: true, message: args });
    expect(readFirmwareInstallResult(result)).toEqual({ ok: true, message: result });
    expect(readFirmwareInstallResult({ ...result, running: null }).ok).toBe(true);
  });

  it.each([
    [{ ...args, url: 'file:///etc/passwd' }, 'url: expected an http:// or https:// URL'],
    [{ ...args, sha256: 'AB'.repeat(32) }, 'sha256: expected 64 lowercase hex digits'],
    [{ ...args, size: 0 }, 'size: expected a positive integer, got 0'],
    [{ ...args, version: '1.2' }, 'version: expected major.minor.patch'],
    [{ ...args, board: '../x' }, 'board: expected a board profile id'],
  ])('refuses bad args (%#)', (bad, reason) => {
    const r = readFirmwareInstallArgs(bad);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(reason);
  });

  it('refuses a result of another shape', () => {
    const r = readFirmwareInstallResult({ ...result, outcome: 'done' });
    expect(r).toEqual({
      ok: false,
      reason: 'firmware.install.result.outcome: expected one of installed, rolled-back, got "done"',
    });
    expect(readFirmwareInstallResult('installed')).toEqual({
      ok: false,
      reason: 'result: expected an object, got "installed"',
    });
  });
});
