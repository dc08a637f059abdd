// Argument values of `netmirror fleet`: each parser names the flag it read and
// throws UsageError (exit 2) on a bad value.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RolloutStrategy } from '@netmirror/fleet-client';

const require = createRequire(import.meta.url);

/** YAML is loaded on first use (as in libs/rules): it would be most of every command's start-up. */
export function yaml(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}

/** A problem with the command line (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--label k=v` (repeated) → `{k: v}`; a key given twice is an error. */
export function keyValues(
  list: readonly string[] | undefined,
  flag: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new UsageError(`${flag} "${item}": expected key=value`);
    const k = item.slice(0, i);
    if (k in out) throw new UsageError(`${flag} ${k}: given twice`);
    out[k] = item.slice(i + 1);
  }
  return out;
}

/** An integer flag in [min, max]. */
export function integer(value: string, flag: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw new UsageError(`${flag} ${value}: expected an integer between ${min} and ${max}`);
  const n = Number(value);
  if (n < min || n > max)
    throw new UsageError(`${flag} ${value}: expected an integer between ${min} and ${max}`);
  return n;
}

/** `true` or `false`. */
export function boolean(value: string, flag: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`${flag} ${value}: expected true or false`);
}

/** A share between 0 and 1, e.g. `0.9`. */
export function ratio(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`${flag} ${value}: expected a number between 0 and 1`);
  return n;
}

/** `25,50,100` → [25, 50, 100]: percentages, each 1..100, increasing. */
export function waves(value: string, flag: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const out = parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 100)
      throw new UsageError(
        `${flag} ${value}: expected comma-separated percentages 1..100, e.g. 25,50,100`,
      );
    return Number(p);
  });
  for (let i = 1; i < out.length; i++)
    if (out[i] <= out[i - 1]) throw new UsageError(`${flag} ${value}: percentages must increase`);
  return out;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `10m`, `1h`, `7d` → milliseconds, or null when `value` is not a duration. */
export function durationMs(value: string): number | null {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
}

/** `--since 10m` (that long before now) or an ISO 8601 date-time → ISO string. */
export function pointInTime(value: string, flag: string, now: Date, relative = true): string {
  const ms = relative ? durationMs(value) : null;
  if (ms !== null) return new Date(now.getTime() - ms).toISOString();
  // Only date-times that look like ISO 8601: Date.parse accepts much more than that.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  throw new UsageError(
    relative
      ? `${flag} ${value}: expected a duration (30s, 10m, 1h, 7d) or an ISO 8601 date-time`
      : `${flag} ${value}: expected an ISO 8601 date-time`,
  );
}

/** A policy spec file: YAML or JSON (YAML reads both), which must hold an object. */
export function readSpec(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let spec: unknown;
  try {
    spec = path.endsWith('.json') ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    throw new UsageError(`--file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw new UsageError(`--file ${path}: expected a mapping (an object) at the top`);
  return spec as Record<string, unknown>;
}

/** The strategy from `rollouts start` flags; fields not given take the server's defaults. */
export function strategyFrom(values: {
  canary?: string;
  waves?: string;
  'max-failures'?: string;
  'success-ratio'?: string;
}): Partial<RolloutStrategy> | undefined {
  const s: Partial<RolloutStrategy> = {};
  if (values.canary !== undefined) s.canary = integer(values.canary, '--canary', 1, 100_000);
  if (values.waves !== undefined) s.waves = waves(values.waves, '--waves');
  if (values['max-failures'] !== undefined)
    s.maxFailuresPerStage = integer(values['max-failures'], '--max-failures', 0, 100_000);
  if (values['success-ratio'] !== undefined)
    s.successRatio = ratio(values['success-ratio'], '--success-ratio');
  return Object.keys(s).length === 0 ? undefined : s;
}
