// Column helpers shared by entities.
import type { ValueTransformer } from 'typeorm';

/** PostgreSQL returns bigint as text; counters here stay below 2^53, so a number is exact. */
export const bigintAsNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v === null ? null : Number(v)),
};
