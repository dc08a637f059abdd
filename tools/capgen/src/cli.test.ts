import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { run, withTmpDir } from './test-util.js';

describe('capgen CLI', () => {
  it('writes the requested capture', () => {
    withTmpDir((dir) => {
      const lines: string[] = [];
      const out = join(dir, 'x.pcap');
      expect(
        main(['--frames', '1000', '--seed', '3', '--malformed-rate', '0.01', '--out', out], (l) =>
          lines.push(l),
        ),
      ).toBe(0);
      expect(lines.join('\n')).toMatch(/wrote 1000 frames/);
      expect(readFileSync(out).readUInt32LE(0)).toBe(0xa1b23c4d); // nanosecond pcap
      expect(run('capinfos', ['-M', '-c', out])).toMatch(/Number of packets:\s+1000\b/);
      const ng = join(dir, 'x.pcapng');
      expect(
        main(
          [
            '--frames',
            '10',
            '--seed',
            '3',
            '--format',
            'pcapng',
            '--start',
            '2026-06-01T00:00:00Z',
            '-o',
            ng,
          ],
          () => {},
        ),
      ).toBe(0);
      expect(readFileSync(ng).readUInt32LE(0)).toBe(0x0a0d0d0a);
      expect(
        run('tshark', ['-n', '-r', ng, '-c', '1', '-T', 'fields', '-e', 'frame.time_epoch']).trim(),
      ).toBe('1780272000.000000000');
      expect(statSync(ng).size).toBeGreaterThan(600);
    });
  });

  it('rejects bad arguments with exit code 2', () => {
    const quiet = (): void => {};
    expect(main(['--frames', '10', '--seed', '1'], quiet)).toBe(2); // no --out
    expect(main(['--frames', 'ten', '--seed', '1', '--out', '/nonexistent/x'], quiet)).toBe(2);
    expect(
      main(['--frames', '10', '--seed', '1', '--format', 'erf', '--out', '/nonexistent/x'], quiet),
    ).toBe(2);
    expect(
      main(
        ['--frames', '10', '--seed', '1', '--malformed-rate', '3', '--out', '/nonexistent/x'],
        quiet,
      ),
    ).toBe(2);
    expect(main(['--bogus'], quiet)).toBe(2);
    expect(main(['--help'], quiet)).toBe(0);
  });
});
