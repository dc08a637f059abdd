import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bindingsFor, DEFAULT_OUT, DEFAULT_SPEC, main } from './cli.js';
import { generateBindings } from './generate.js';
import type { RegmapSpec } from './spec.js';
import { validateSpec } from './spec.js';

const spec = (): RegmapSpec => JSON.parse(readFileSync(DEFAULT_SPEC, 'utf8')) as RegmapSpec;

describe('the register map and its bindings', () => {
  it('the checked-in bindings are exactly what the spec generates', () => {
    // If this fails, the spec or firmware-bindings/fpga/src/generated/regmap.ts was
    // edited alone: run `npm run regmap` and review the diff.
    expect(readFileSync(DEFAULT_OUT, 'utf8')).toBe(bindingsFor(DEFAULT_SPEC));
    expect(main(['--check'], () => undefined)).toBe(0);
  });

  it('the spec is sound', () => {
    expect(validateSpec(spec())).toEqual([]);
  });

  it('--check fails on a spec change that was not regenerated', () => {
    const changed = spec();
    changed.registers[0].address = '0x0ffc';
    expect(generateBindings(changed, 'x.json')).not.toBe(readFileSync(DEFAULT_OUT, 'utf8'));
  });
});

describe('validateSpec', () => {
  const problems = (edit: (s: RegmapSpec) => void): string[] => {
    const s = spec();
    edit(s);
    return validateSpec(s);
  };

  it('names overlapping fields, shared addresses and bits past 31', () => {
    const errors = problems((s) => {
      const status = s.registers.find((r) => r.name === 'STATUS')!;
      status.fields!.push({ name: 'EXTRA', lsb: 0, width: 2 });
      status.fields!.push({ name: 'WIDE', lsb: 30, width: 4 });
      s.registers.find((r) => r.name === 'SCRATCH')!.address = '0x0010';
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        "registers.SCRATCH: address 0x0010 is also CONTROL's",
        'registers.STATUS.EXTRA: overlaps another field',
        'registers.STATUS.WIDE: bits 30..33 run past bit 31',
      ]),
    );
    expect(errors).toHaveLength(3);
  });

  it('rejects enums wider than their field, unaligned addresses and unknown size registers', () => {
    const errors = problems((s) => {
      s.registers.find((r) => r.name === 'TIMESTAMP_CONTROL')!.fields![0].enum!['PTP'] = 4;
      s.registers.find((r) => r.name === 'UPTIME_S')!.address = '0x0019';
      s.tables[0].sizeRegisters = ['NOPE'];
      s.version = '1';
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        'version: "1" is not MAJOR.MINOR',
        'registers.UPTIME_S: address 0x0019 is not a multiple of 4',
        'registers.TIMESTAMP_CONTROL.MODE: enum PTP = 4 does not fit 2 bits',
        'tables.TCAM_SHADOW: size register NOPE is not in the map',
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  it('refuses to generate from an unsound spec', () => {
    const s = spec();
    s.registers.push({ ...s.registers[0] });
    expect(() => generateBindings(s, 'x.json')).toThrow(/registers: "BOARD_ID" appears twice/);
  });
});
