// A small field reader for hand-written validators: each getter checks one
// field and records the first failure as `<path>: <what was expected>, got <what came>`.
// Getters return a placeholder after a failure; callers check `reason` at the end.
import type { JsonValue } from './canonical.js';

export const MAX_JSON_DEPTH = 32;

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Depth of nested arrays/objects, walked without recursion so hostile input cannot blow the stack. */
export function jsonDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (depth > MAX_JSON_DEPTH) return depth;
    for (const child of Object.values(v)) stack.push([child, depth]);
  }
  return max;
}

export class Fields {
  reason: string | null = null;

  constructor(
    private readonly path: string,
    private readonly obj: Record<string, unknown>,
  ) {}

  fail(field: string, msg: string): void {
    this.reason ??= `${this.path}.${field}: ${msg}`;
  }

  private get(field: string): unknown {
    return Object.hasOwn(this.obj, field) ? this.obj[field] : undefined;
  }

  raw(field: string): unknown {
    return this.get(field);
  }

  has(field: string): boolean {
    return this.get(field) !== undefined;
  }

  int(field: string, min: number): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      const what =
        min === 0
          ? 'a non-negative integer'
          : min === 1
            ? 'a positive integer'
            : `an integer >= ${min}`;
      this.fail(field, `expected ${what}, got ${describe(v)}`);
      return 0;
    }
    return v;
  }

  /** A time in ms since the epoch. */
  time(field: string): number {
    return this.int(field, 0);
  }

  num(field: string, min: number): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      this.fail(field, `expected a finite number >= ${min}, got ${describe(v)}`);
      return 0;
    }
    return v;
  }

  bool(field: string): boolean {
    const v = this.get(field);
    if (typeof v !== 'boolean') {
      this.fail(field, `expected true or false, got ${describe(v)}`);
      return false;
    }
    return v;
  }

  str(field: string, maxLength: number, pattern?: RegExp, patternName?: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
      this.fail(field, `expected a string of 1-${maxLength} characters, got ${describe(v)}`);
      return '';
    }
    if (pattern && !pattern.test(v)) {
      this.fail(field, `expected ${patternName ?? pattern.source}, got ${describe(v)}`);
      return '';
    }
    return v;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.get(field);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(field, `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
      return allowed[0];
    }
    return v as T;
  }

  /** Any JSON object (a spec, command args), depth-limited. */
  object(field: string): { [key: string]: JsonValue } {
    const v = this.get(field);
    if (!isPlainObject(v)) {
      this.fail(field, `expected an object, got ${describe(v)}`);
      return {};
    }
    if (jsonDepth(v) > MAX_JSON_DEPTH) {
      this.fail(field, `nested deeper than ${MAX_JSON_DEPTH} levels`);
      return {};
    }
    return v as { [key: string]: JsonValue };
  }

  /** Any JSON value, depth-limited. */
  json(field: string): JsonValue {
    const v = this.get(field);
    if (jsonDepth(v) > MAX_JSON_DEPTH) {
      this.fail(field, `nested deeper than ${MAX_JSON_DEPTH} levels`);
      return null;
    }
    return v as JsonValue;
  }

  /** An array of objects, each read by `item` with its own Fields at `field[i]`. */
  list<T>(field: string, maxItems: number, item: (f: Fields) => T): T[] {
    const v = this.get(field);
    if (!Array.isArray(v) || v.length > maxItems) {
      this.fail(field, `expected an array of at most ${maxItems} items, got ${describe(v)}`);
      return [];
    }
    const out: T[] = [];
    for (let i = 0; i < v.length && this.reason === null; i++) {
      const el: unknown = v[i];
      const at = `${this.path}.${field}[${i}]`;
      if (!isPlainObject(el)) {
        this.reason = `${at}: expected an object, got ${describe(el)}`;
        break;
      }
      const f = new Fields(at, el);
      const value = item(f);
      if (f.reason !== null) this.reason = f.reason;
      else out.push(value);
    }
    return out;
  }
}
