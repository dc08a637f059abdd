// Firmware images for hardware tap boards and the updates sent to devices.
// An image's bytes live in a table of their own (firmware_image_data: blob on
// SQLite, bytea on PostgreSQL), read and written with plain SQL, so listing
// images never loads them and the entities stay portable.
import {
  Table,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';
import { columnTypes, dialectOf } from '../dialect.js';

export class Firmware1751800000000 implements MigrationInterface {
  name = 'Firmware1751800000000';

  async up(qr: QueryRunner): Promise<void> {
    const d = dialectOf(qr);
    const t = columnTypes(d);

    await qr.createTable(
      new Table({
        name: 'firmware_images',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          // BOARD_ID is a 32-bit unsigned word: above PostgreSQL's integer.
          { name: 'board_id', type: 'bigint' },
          { name: 'board_profile', type: 'varchar', length: '64' },
          { name: 'version', type: 'varchar', length: '16' },
          { name: 'size', type: 'integer' },
          { name: 'sha256', type: 'varchar', length: '64', isUnique: true },
          { name: 'key_id', type: 'varchar', length: '32' },
          { name: 'built_at', type: t.timestamp },
          { name: 'created_by', type: 'varchar', length: '200' },
          { name: 'created_at', type: t.timestamp },
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'firmware_image_data',
        columns: [
          { name: 'image_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'data', type: d === 'postgres' ? 'bytea' : 'blob' },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['image_id'],
            referencedTableName: 'firmware_images',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'firmware_updates',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'device_id', type: 'varchar', length: '64' },
          { name: 'image_id', type: 'varchar', length: '36' },
          { name: 'version', type: 'varchar', length: '16' },
          { name: 'correlation_id', type: 'varchar', length: '128', isUnique: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'phase', type: 'varchar', length: '64', isNullable: true },
          { name: 'bytes', type: 'integer', default: '0' },
          { name: 'total', type: 'integer', default: '0' },
          // The newest command-progress seq applied: older or repeated ones are dropped.
          { name: 'progress_seq', type: 'integer', default: '0' },
          { name: 'message', type: 'text', isNullable: true },
          { name: 'previous_version', type: 'varchar', length: '16', isNullable: true },
          { name: 'running_version', type: 'varchar', length: '16', isNullable: true },
          { name: 'resumed_at', type: 'integer', isNullable: true },
          // SHA-256 of the download token; the token itself is only in the command.
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'token_expires_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
          { name: 'created_by', type: 'varchar', length: '200' },
          { name: 'created_at', type: t.timestamp },
          { name: 'started_at', type: t.timestamp, isNullable: true },
          { name: 'updated_at', type: t.timestamp },
          { name: 'finished_at', type: t.timestamp, isNullable: true },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['device_id'],
            referencedTableName: 'devices',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          // An image an update used cannot go (its record names it).
          new TableForeignKey({
            columnNames: ['image_id'],
            referencedTableName: 'firmware_images',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );
    await qr.createIndex(
      'firmware_updates',
      new TableIndex({
        name: 'idx_firmware_updates_device',
        columnNames: ['device_id', 'created_at'],
      }),
    );
    await qr.createIndex(
      'firmware_updates',
      new TableIndex({ name: 'idx_firmware_updates_status', columnNames: ['status'] }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const table of ['firmware_updates', 'firmware_image_data', 'firmware_images'])
      await qr.dropTable(table);
  }
}
