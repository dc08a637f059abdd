import { describe, expect, it } from 'vitest';
import type { BoardProfile } from './profiles.js';
import {
  listBoardProfiles,
  loadBoardProfile,
  tcamGeometry,
  validateBoardProfile,
} from './profiles.js';
import {
  decodeStatus,
  decodeTcamAction,
  encodeControl,
  encodeTcamAction,
} from './generated/regmap.js';

describe('board profiles', () => {
  it('has the two tap boards, each sound', () => {
    expect(listBoardProfiles()).toEqual(['nm-tap-2x100g', 'nm-tap-4x10g']);
    for (const id of listBoardProfiles())
      expect(validateBoardProfile(loadBoardProfile(id))).toEqual([]);
  });

  it('derives the filter table geometry from the key layout', () => {
    // 4x10G: 2+1+12+1+12+16+2+8+1+32+32+16+16 = 151 bits -> 5 words.
    expect(tcamGeometry(loadBoardProfile('nm-tap-4x10g'))).toEqual({
      keyBits: 151,
      keyBytes: 20,
      entryBytes: 44,
      bankBytes: 512 * 44,
    });
    // 2x100G: IPv6-wide addresses, 342 bits -> 11 words.
    expect(tcamGeometry(loadBoardProfile('nm-tap-2x100g'))).toEqual({
      keyBits: 342,
      keyBytes: 44,
      entryBytes: 92,
      bankBytes: 2048 * 92,
    });
  });

  it('names every problem of a broken profile', () => {
    const p = structuredClone(loadBoardProfile('nm-tap-4x10g')) as BoardProfile;
    p.tcam.key.push({ field: 'vlan_pcp' as never, bits: 3 });
    p.tcam.key[9] = { field: 'src_ip', bits: 64 };
    p.registerMap.version = '2.0';
    p.ports.reverse();
    expect(validateBoardProfile(p)).toEqual([
      'ports: ingress ports must come before monitor ports',
      'tcam.key.src_ip: 64 bits (takes 32 or 128)',
      'tcam.key: unknown field "vlan_pcp"',
      'registerMap: netmirror-tap 2.0; these bindings are netmirror-tap 1.x',
    ]);
    expect(() => loadBoardProfile('nm-tap-9x9g')).toThrow(
      /no board profile "nm-tap-9x9g" in .*\(there are: nm-tap-2x100g, nm-tap-4x10g\)/,
    );
  });
});

describe('generated register codecs', () => {
  it('round-trips fields and refuses values wider than their field', () => {
    const word = encodeTcamAction({ valid: 1, copy: 1, outPorts: 0b10, slice: 128 });
    expect(word).toBe(0x0080_0203);
    expect(decodeTcamAction(word)).toEqual({ valid: 1, copy: 1, outPorts: 2, slice: 128 });
    expect(encodeControl({ softReset: 1 })).toBe(0x8000_0000);
    expect(decodeStatus(0x0000_0305)).toEqual({
      ready: 1,
      healthy: 0,
      activeSlot: 1,
      mirroring: 0,
      linkUp: 3,
    });
    expect(() => encodeTcamAction({ slice: 70000 })).toThrow(
      'TCAM_ACTION.SLICE: 70000 does not fit 16 bits',
    );
  });
});
