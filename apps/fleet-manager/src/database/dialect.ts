// The two databases we speak, and the few places where their SQL differs.
// Everything else goes through TypeORM's portable APIs.
import type { DataSource, QueryRunner } from 'typeorm';

export type Dialect = 'sqlite' | 'postgres';

export function dialectOf(source: DataSource | QueryRunner): Dialect {
  const ds = 'connection' in source ? source.connection : source;
  return ds.options.type === 'postgres' ? 'postgres' : 'sqlite';
}

/** Column types used by migrations; entities use `Date`/'jsonb'/'boolean', which TypeORM maps per driver. */
export function columnTypes(d: Dialect): { timestamp: string; json: string } {
  return d === 'postgres'
    ? { timestamp: 'timestamptz', json: 'jsonb' }
    : { timestamp: 'datetime', json: 'text' };
}

/**
 * SQL comparing one label of a JSON labels column. The key is bound as a
 * parameter; label keys are restricted by validation (LABEL_KEY) so the
 * SQLite JSON path cannot be escaped.
 */
export function labelEquals(
  d: Dialect,
  column: string,
  keyParam: string,
  valueParam: string,
): string {
  return d === 'postgres'
    ? `(${column} ->> :${keyParam}) = :${valueParam}`
    : `json_extract(${column}, :${keyParam}) = :${valueParam}`;
}

export function labelKeyParam(d: Dialect, key: string): string {
  return d === 'postgres' ? key : `$."${key}"`;
}

/** better-sqlite3 cannot bind booleans. */
export function boolParam(d: Dialect, v: boolean): boolean | number {
  return d === 'postgres' ? v : v ? 1 : 0;
}
