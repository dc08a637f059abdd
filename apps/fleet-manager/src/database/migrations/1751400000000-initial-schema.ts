// Devices, enrollment tokens and the audit log. Written with TypeORM's Table
// API so one class runs on SQLite and PostgreSQL; the only dialect-specific
// parts are the column types (columnTypes) and the append-only triggers.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes, dialectOf } from '../dialect.js';

export class InitialSchema1751400000000 implements MigrationInterface {
  name = 'InitialSchema1751400000000';

  async up(qr: QueryRunner): Promise<void> {
    const d = dialectOf(qr);
    const t = columnTypes(d);

    await qr.createTable(
      new Table({
        name: 'devices',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'labels', type: t.json },
          { name: 'site', type: 'varchar', length: '200', isNullable: true },
          { name: 'model', type: 'varchar', length: '200', isNullable: true },
          { name: 'firmware_version', type: 'varchar', length: '100', isNullable: true },
          { name: 'agent_version', type: 'varchar', length: '100', isNullable: true },
          { name: 'public_keys', type: t.json },
          { name: 'certificate_pem', type: 'text', isNullable: true },
          { name: 'last_seen_at', type: t.timestamp, isNullable: true },
          { name: 'online', type: 'boolean', default: 'false' },
          { name: 'created_at', type: t.timestamp },
        ],
      }),
    );
    await qr.createIndex(
      'devices',
      new TableIndex({ name: 'idx_devices_online', columnNames: ['online'] }),
    );

    await qr.createTable(
      new Table({
        name: 'enrollment_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'device_name', type: 'varchar', length: '200', isNullable: true },
          { name: 'labels', type: t.json },
          { name: 'created_by', type: 'varchar', length: '200' },
          { name: 'created_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
          { name: 'used_at', type: t.timestamp, isNullable: true },
          // No foreign key: the token keeps naming the device after it is decommissioned.
          { name: 'used_by_device_id', type: 'varchar', length: '64', isNullable: true },
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'actor', type: 'varchar', length: '200' },
          { name: 'action', type: 'varchar', length: '100' },
          { name: 'target', type: 'varchar', length: '200' },
          { name: 'details', type: t.json },
          { name: 'at', type: t.timestamp },
        ],
      }),
    );
    await qr.createIndex(
      'audit_log',
      new TableIndex({ name: 'idx_audit_log_target', columnNames: ['target'] }),
    );

    // Append-only, enforced by the database as well as by the code.
    if (d === 'postgres') {
      await qr.query(`CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql`);
      await qr.query(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    } else {
      await qr.query(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
      await qr.query(`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    }
  }

  async down(qr: QueryRunner): Promise<void> {
    if (dialectOf(qr) === 'postgres') {
      await qr.query('DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log');
      await qr.query('DROP FUNCTION IF EXISTS audit_log_append_only()');
    }
    await qr.dropTable('audit_log');
    await qr.dropTable('enrollment_tokens');
    await qr.dropTable('devices');
  }
}
