// Retention settings for the recorder (`record:` destinations): one checker
// for the fleet manager (on input) and the agent (on apply).

export interface RetentionSpec {
  /** Start a new file once this many bytes are written. */
  fileBytes?: number;
  /** Start a new file after this many seconds (0: never by time). */
  fileSeconds?: number;
  /** Delete files older than this (0: keep by age). */
  maxAgeSeconds?: number;
  /** Delete the oldest files while all together take more (0: no limit). */
  maxTotalBytes?: number;
}

const RETENTION_FIELDS = ['fileBytes', 'fileSeconds', 'maxAgeSeconds', 'maxTotalBytes'] as const;
export const MIN_RECORD_FILE_BYTES = 64 << 10;

/** Throws an Error naming the field (`retention.maxAgeSeconds: …`). */
export function validateRetention(spec: unknown): RetentionSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new Error('retention: expected an object');
  const out: RetentionSpec = {};
  for (const [key, v] of Object.entries(spec)) {
    if (!(RETENTION_FIELDS as readonly string[]).includes(key))
      throw new Error(`retention: unknown field "${key}"`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw new Error(`retention.${key}: expected a whole number >= 0`);
    out[key as (typeof RETENTION_FIELDS)[number]] = v;
  }
  if (out.fileBytes !== undefined && out.fileBytes < MIN_RECORD_FILE_BYTES)
    throw new Error(`retention.fileBytes: at least ${MIN_RECORD_FILE_BYTES}`);
  return out;
}
