import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  boolean,
  durationMs,
  integer,
  keyValues,
  pointInTime,
  ratio,
  readSpec,
  strategyFrom,
  UsageError,
  waves,
} from './fleet-args.js';

describe('fleet argument values', () => {
  it('key=value lists: value may hold "=" and be empty; bad or repeated keys are usage errors', () => {
    expect(keyValues(['role=core', 'expr=a=b', 'empty='], '--label')).toEqual({
      role: 'core',
      expr: 'a=b',
      empty: '',
    });
    expect(keyValues(undefined, '--label')).toEqual({});
    expect(() => keyValues(['role'], '--label')).toThrow('--label "role": expected key=value');
    expect(() => keyValues(['=x'], '--target')).toThrow(UsageError);
    expect(() => keyValues(['a=1', 'a=2'], '--label')).toThrow('--label a: given twice');
  });

  it('integers, booleans, ratios', () => {
    expect(integer('3600', '--ttl', 60, 100000)).toBe(3600);
    expect(integer('-5', '--priority', -1000, 1000)).toBe(-5);
    expect(() => integer('59', '--ttl', 60, 100)).toThrow(
      '--ttl 59: expected an integer between 60 and 100',
    );
    expect(() => integer('1.5', '--limit', 1, 10)).toThrow(UsageError);
    expect(() => integer('', '--limit', 1, 10)).toThrow(UsageError);
    expect(boolean('true', '--online')).toBe(true);
    expect(boolean('false', '--online')).toBe(false);
    expect(() => boolean('yes', '--online')).toThrow('--online yes: expected true or false');
    expect(ratio('0.9', '--success-ratio')).toBe(0.9);
    expect(ratio('1', '--success-ratio')).toBe(1);
    expect(() => ratio('1.1', '--success-ratio')).toThrow(UsageError);
    expect(() => ratio('', '--success-ratio')).toThrow(UsageError);
  });

  it('waves are increasing percentages', () => {
    expect(waves('25,50,100', '--waves')).toEqual([25, 50, 100]);
    expect(waves(' 10 , 100', '--waves')).toEqual([10, 100]);
    expect(() => waves('50,25', '--waves')).toThrow('percentages must increase');
    expect(() => waves('0,100', '--waves')).toThrow(UsageError);
    expect(() => waves('25,,100', '--waves')).toThrow(UsageError);
    expect(() => waves('150', '--waves')).toThrow(UsageError);
  });

  it('rollout strategy: only the flags given, the rest left to the server', () => {
    expect(strategyFrom({})).toBeUndefined();
    expect(strategyFrom({ canary: '2' })).toEqual({ canary: 2 });
    expect(
      strategyFrom({ canary: '1', waves: '50,100', 'max-failures': '1', 'success-ratio': '0.8' }),
    ).toEqual({ canary: 1, waves: [50, 100], maxFailuresPerStage: 1, successRatio: 0.8 });
    expect(() => strategyFrom({ canary: '0' })).toThrow('--canary 0');
  });

  it('durations and points in time', () => {
    expect(durationMs('90s')).toBe(90_000);
    expect(durationMs('10m')).toBe(600_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('7d')).toBe(604_800_000);
    expect(durationMs('10')).toBeNull();
    expect(durationMs('1w')).toBeNull();
    const now = new Date('2025-07-01T12:00:00.000Z');
    expect(pointInTime('10m', '--since', now)).toBe('2025-07-01T11:50:00.000Z');
    expect(pointInTime('2025-06-30T08:00:00+02:00', '--since', now)).toBe(
      '2025-06-30T06:00:00.000Z',
    );
    expect(pointInTime('2025-06-30', '--since', now)).toBe('2025-06-30T00:00:00.000Z');
    expect(() => pointInTime('yesterday', '--since', now)).toThrow(
      '--since yesterday: expected a duration (30s, 10m, 1h, 7d) or an ISO 8601 date-time',
    );
    expect(() => pointInTime('10m', '--until', now, false)).toThrow(
      '--until 10m: expected an ISO 8601 date-time',
    );
    expect(() => pointInTime('2025-13-45', '--since', now)).toThrow(UsageError);
  });
});

describe('readSpec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nm-fleet-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads YAML and JSON into the same object', () => {
    const yaml = file(
      'r.yaml',
      'destinations:\n  ids: vxlan://10.0.0.1?vni=1\nrules:\n  - name: web\n    match: { dstPort: 443 }\n    to: [ids]\n',
    );
    const json = file(
      'r.json',
      JSON.stringify({
        destinations: { ids: 'vxlan://10.0.0.1?vni=1' },
        rules: [{ name: 'web', match: { dstPort: 443 }, to: ['ids'] }],
      }),
    );
    expect(readSpec(yaml)).toEqual(readSpec(json));
  });

  it('a missing file, bad syntax or a non-object top are usage errors naming the file', () => {
    expect(() => readSpec(join(dir, 'absent.yaml'))).toThrow(/--file .*absent\.yaml: ENOENT/);
    expect(() => readSpec(file('bad.json', '{"a":'))).toThrow(/--file .*bad\.json: /);
    expect(() => readSpec(file('bad.yaml', 'a: [1, 2'))).toThrow(UsageError);
    expect(() => readSpec(file('list.yaml', '- 1\n- 2\n'))).toThrow(
      /expected a mapping \(an object\) at the top/,
    );
    expect(() => readSpec(file('empty.yaml', ''))).toThrow(/expected a mapping/);
  });
});
