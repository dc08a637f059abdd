// Canonical JSON and the content hash of a desired state. Canonical means:
// object keys sorted by UTF-16 code unit (JavaScript's default sort, as in
// RFC 8785), no whitespace, numbers and strings as JSON.stringify writes them.
// Two specs that differ only in key order hash the same.
import { createHash } from 'node:crypto';

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * Throws TypeError on values JSON cannot carry (undefined in arrays, NaN,
 * Infinity, bigint, functions, symbols). Object keys whose value is undefined
 * are left out, as JSON.stringify does. Only ever given local data or the
 * output of JSON.parse, so it never sees a cycle.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${value} is not representable in JSON`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((v: unknown) => {
            if (v === undefined) throw new TypeError('canonicalJson: undefined in an array');
            return canonicalJson(v);
          })
          .join(',')}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not representable in JSON`);
  }
}

/** `sha256:<hex>` of the canonical JSON of `value`. */
export function contentHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}
