// The checked-in generated code is exactly what protoc + ts-proto make from
// proto/ now: regenerate into a temp dir and compare file by file, so the
// proto and the code cannot drift apart. Fix a failure with
// `node libs/fleet-api/generate.mjs` (and commit what it changes).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectFleetApi,
  Device,
  FleetServiceService,
  ListDevicesRequest,
  UpdateDeviceRequest,
} from './index.js';

const lib = join(import.meta.dirname, '..');
const checkedIn = join(lib, 'src', 'generated');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('generated code', () => {
  const out = mkdtempSync(join(tmpdir(), 'nm-fleet-api-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('is what protoc and ts-proto generate from the proto', () => {
    execFileSync('node', [join(lib, 'generate.mjs'), '--out', out], { stdio: 'pipe' });
    const fresh = files(out);
    expect(fresh).toContain('netmirror/fleet/v1/fleet.ts');
    expect(files(checkedIn)).toEqual(fresh);
    for (const f of fresh) {
      const want = readFileSync(join(out, f), 'utf8');
      const have = readFileSync(join(checkedIn, f), 'utf8');
      // One clear line instead of a 10,000-line diff.
      expect(
        have === want,
        `${f} differs from a fresh generation: run node libs/fleet-api/generate.mjs`,
      ).toBe(true);
    }
  });
});

describe('the generated messages', () => {
  it('round-trip through the wire format with unset optionals, maps and timestamps', () => {
    const d = Device.fromPartial({
      id: 'tap-01',
      name: 'core tap',
      labels: { role: 'core' },
      publicKeys: { tls: 'T', x25519: 'X' },
      online: true,
      createdAt: new Date('2026-01-02T03:04:05.678Z'),
    });
    const back = Device.decode(Device.encode(d).finish());
    expect(back).toEqual(d);
    expect(back.site).toBeUndefined(); // REST null
    expect(back.lastSeenAt).toBeUndefined();
    expect(back.createdAt?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('keep "unset" apart from the default for optional request fields', () => {
    const unset = ListDevicesRequest.decode(
      ListDevicesRequest.encode(ListDevicesRequest.create()).finish(),
    );
    expect(unset.limit).toBeUndefined();
    expect(unset.online).toBeUndefined();
    const zero = ListDevicesRequest.decode(
      ListDevicesRequest.encode(ListDevicesRequest.create({ offset: 0, online: false })).finish(),
    );
    expect(zero.offset).toBe(0);
    expect(zero.online).toBe(false);
    const patch = UpdateDeviceRequest.fromPartial({ id: 'x', removeLabels: ['rack'] });
    expect(UpdateDeviceRequest.decode(UpdateDeviceRequest.encode(patch).finish())).toMatchObject({
      removeLabels: ['rack'],
      setLabels: {},
      name: undefined,
    });
  });

  it('give the client one promise method per RPC of the service', () => {
    const api = connectFleetApi('127.0.0.1:1'); // nothing is dialled until a call
    try {
      for (const rpc of Object.keys(FleetServiceService))
        expect(typeof (api as never)[rpc]).toBe('function');
    } finally {
      api.close();
    }
  });
});
