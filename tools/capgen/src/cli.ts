/**
 * capgen command line:
 *   capgen --frames N --seed S [--malformed-rate R] [--format pcap|pcapng]
 *          [--max-frame N] [--start ISO-TIME] --out PATH
 */
import { parseArgs } from 'node:util';
import { writeCaptureFile, type CaptureFormat } from './output.js';

export const USAGE =
  'usage: capgen --frames N --seed S [--malformed-rate R] [--format pcap|pcapng] [--max-frame N] [--start ISO-TIME] --out PATH';

function num(name: string, v: string | undefined, fallback?: number): number {
  if (v === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name}: not a number: ${v}`);
  return n;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export function main(
  argv: readonly string[],
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        frames: { type: 'string' },
        seed: { type: 'string' },
        'malformed-rate': { type: 'string' },
        format: { type: 'string' },
        'max-frame': { type: 'string' },
        start: { type: 'string' },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    log(`capgen: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    log(USAGE);
    return 0;
  }
  try {
    const str = (k: string): string | undefined =>
      typeof values[k] === 'string' ? (values[k] as string) : undefined;
    const out = str('out');
    if (out === undefined) throw new Error('--out is required');
    const format = str('format') ?? 'pcap';
    if (format !== 'pcap' && format !== 'pcapng')
      throw new Error(`--format: pcap or pcapng, not ${format}`);
    const start = str('start');
    const startMs = start === undefined ? undefined : Date.parse(start);
    if (startMs !== undefined && Number.isNaN(startMs))
      throw new Error(`--start: not a date: ${start}`);
    const t0 = process.hrtime.bigint();
    const stats = writeCaptureFile({
      path: out,
      format: format as CaptureFormat,
      frames: num('frames', str('frames')),
      seed: num('seed', str('seed')),
      malformedRate: num('malformed-rate', str('malformed-rate'), 0),
      maxFrameLength: num('max-frame', str('max-frame'), 1514),
      startSec: startMs === undefined ? undefined : Math.floor(startMs / 1000),
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    log(
      `capgen: wrote ${stats.frames} frames (${stats.bytes} bytes, ${stats.malformed} malformed) to ${out} ` +
        `in ${secs.toFixed(2)} s (${Math.round(stats.frames / Math.max(secs, 1e-9))} frames/s)`,
    );
    return 0;
  } catch (e) {
    log(`capgen: ${(e as Error).message}`);
    return e instanceof RangeError || /^--/.test((e as Error).message) ? 2 : 1;
  }
}
