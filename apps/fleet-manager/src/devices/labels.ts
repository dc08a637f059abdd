// Label keys and values: keys are also JSON paths in SQLite queries and may
// one day be MQTT/ACL material, so they are kept to a safe alphabet.
import { FieldError } from '../common/validation.js';
import type { Labels } from './device.entity.js';

export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_VALUE = /^[^\p{Cc}]{0,200}$/u; // no control characters
const MAX_LABELS = 64;

/** Validates a labels object; `nullDeletes` allows null values (merge-patch delete). */
export function parseLabels(
  input: unknown,
  field: string,
  nullDeletes = false,
): Record<string, string | null> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new FieldError(field, 'must be an object of string values');
  const out: Record<string, string | null> = {};
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw new FieldError(field, `at most ${MAX_LABELS} labels`);
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k))
      throw new FieldError(
        `${field}.${k}`,
        'label key must be 1..63 of A-Z a-z 0-9 . _ / - starting with a letter or digit',
      );
    if (v === null && nullDeletes) out[k] = null;
    else if (typeof v !== 'string' || !LABEL_VALUE.test(v))
      throw new FieldError(
        `${field}.${k}`,
        'label value must be a string of at most 200 printable characters',
      );
    else out[k] = v;
  }
  return out;
}

export function strictLabels(input: unknown, field: string): Labels {
  return parseLabels(input, field, false) as Labels;
}

/** `?label=k=v` → [k, v]. */
export function parseLabelSelector(s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new FieldError('label', `"${s}" must be key=value`);
  const k = s.slice(0, i);
  const v = s.slice(i + 1);
  if (!LABEL_KEY.test(k)) throw new FieldError('label', `"${k}" is not a valid label key`);
  return [k, v];
}
