// Telemetry detail (per-tap and per-destination counters) as json, not jsonb,
// on PostgreSQL: it is written once and read back whole, never queried
// inside, and jsonb's binary conversion was half the cost of storing a row
// (30 → 14 µs a row in a 100,000-row insert test). SQLite keeps JSON text.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dialectOf } from '../dialect.js';

export class TelemetryJson1751700000000 implements MigrationInterface {
  name = 'TelemetryJson1751700000000';

  async up(qr: QueryRunner): Promise<void> {
    if (dialectOf(qr) !== 'postgres') return;
    await qr.query(
      'ALTER TABLE telemetry ALTER COLUMN taps TYPE json USING taps::json, ALTER COLUMN destinations TYPE json USING destinations::json',
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    if (dialectOf(qr) !== 'postgres') return;
    await qr.query(
      'ALTER TABLE telemetry ALTER COLUMN taps TYPE jsonb USING taps::jsonb, ALTER COLUMN destinations TYPE jsonb USING destinations::jsonb',
    );
  }
}
