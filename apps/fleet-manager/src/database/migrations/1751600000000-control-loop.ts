// The control loop: policies and their versions, per-device desired and
// reported state, rollouts, fleet data keys, telemetry and alerts.
import {
  Table,
  TableForeignKey,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';
import { columnTypes, dialectOf } from '../dialect.js';

export class ControlLoop1751600000000 implements MigrationInterface {
  name = 'ControlLoop1751600000000';

  async up(qr: QueryRunner): Promise<void> {
    const t = columnTypes(dialectOf(qr));
    const serial = {
      type: 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment' as const,
    };

    await qr.createTable(
      new Table({
        name: 'policies',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'domain', type: 'varchar', length: '16' },
          { name: 'target_labels', type: t.json },
          { name: 'priority', type: 'integer', default: '0' },
          { name: 'latest_version', type: 'integer' },
          { name: 'deployed_version', type: 'integer', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'policy_versions',
        columns: [
          { name: 'policy', type: 'varchar', length: '64', isPrimary: true },
          { name: 'version', type: 'integer', isPrimary: true },
          { name: 'hash', type: 'varchar', length: '80' },
          { name: 'spec', type: t.json },
          { name: 'comment', type: 'text', isNullable: true },
          { name: 'created_by', type: 'varchar', length: '200' },
          { name: 'created_at', type: t.timestamp },
        ],
        foreignKeys: [
          new TableForeignKey({
            columnNames: ['policy'],
            referencedTableName: 'policies',
            referencedColumnNames: ['name'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    // What each device should run, per domain: its own strictly increasing
    // version (a device can move between policies; versions never go back).
    await qr.createTable(
      new Table({
        name: 'device_desired',
        columns: [
          { name: 'device_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'domain', type: 'varchar', length: '16', isPrimary: true },
          { name: 'version', type: 'integer' },
          { name: 'hash', type: 'varchar', length: '80' },
          { name: 'spec', type: t.json },
          { name: 'policy', type: 'varchar', length: '64', isNullable: true },
          { name: 'policy_version', type: 'integer', isNullable: true },
          { name: 'published_at', type: t.timestamp },
        ],
        foreignKeys: [deviceFk()],
      }),
    );
    await qr.createTable(
      new Table({
        name: 'device_reported',
        columns: [
          { name: 'device_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'domain', type: 'varchar', length: '16', isPrimary: true },
          { name: 'version', type: 'integer' },
          { name: 'hash', type: 'varchar', length: '80', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'rejected_version', type: 'integer', isNullable: true },
          { name: 'at', type: t.timestamp },
          { name: 'received_at', type: t.timestamp },
        ],
        foreignKeys: [deviceFk()],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'rollouts',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'policy', type: 'varchar', length: '64' },
          { name: 'domain', type: 'varchar', length: '16' },
          { name: 'version', type: 'integer' },
          { name: 'previous_version', type: 'integer', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'reason', type: 'text', isNullable: true },
          { name: 'strategy', type: t.json },
          { name: 'stages', type: t.json },
          { name: 'started', type: 'integer' },
          { name: 'outcomes', type: t.json },
          // Optimistic lock: replicas advance a rollout only from the revision they read.
          { name: 'revision', type: 'integer' },
          { name: 'created_by', type: 'varchar', length: '200' },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
    await qr.createIndex(
      'rollouts',
      new TableIndex({ name: 'idx_rollouts_status', columnNames: ['status'] }),
    );

    await qr.createTable(
      new Table({
        name: 'data_keys',
        columns: [
          { name: 'key_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'key_set_version', type: 'integer' },
          { name: 'material', type: 'text' },
          { name: 'created_at', type: t.timestamp },
          { name: 'retired_at', type: t.timestamp, isNullable: true },
        ],
      }),
    );

    await qr.createTable(
      new Table({
        name: 'telemetry',
        columns: [
          { name: 'id', ...serial },
          { name: 'device_id', type: 'varchar', length: '64' },
          { name: 'at', type: t.timestamp },
          { name: 'received_at', type: t.timestamp },
          { name: 'packets_seen', type: 'bigint' },
          { name: 'packets_sent', type: 'bigint' },
          { name: 'packets_dropped', type: 'bigint' },
          { name: 'cpu_percent', type: 'real' },
          { name: 'memory_bytes', type: 'bigint' },
          { name: 'taps', type: t.json },
          { name: 'destinations', type: t.json },
        ],
      }),
    );
    // Unique: a message delivered twice (QoS redelivery, two replicas) is stored once.
    await qr.createIndex(
      'telemetry',
      new TableIndex({
        name: 'idx_telemetry_device_at',
        columnNames: ['device_id', 'at'],
        isUnique: true,
      }),
    );

    await qr.createTable(
      new Table({
        name: 'alerts',
        columns: [
          { name: 'id', ...serial },
          { name: 'device_id', type: 'varchar', length: '64' },
          { name: 'at', type: t.timestamp },
          { name: 'received_at', type: t.timestamp },
          { name: 'severity', type: 'varchar', length: '16' },
          { name: 'code', type: 'varchar', length: '64' },
          { name: 'message', type: 'text' },
          { name: 'acknowledged_at', type: t.timestamp, isNullable: true },
          { name: 'acknowledged_by', type: 'varchar', length: '200', isNullable: true },
        ],
      }),
    );
    await qr.createIndex(
      'alerts',
      new TableIndex({
        name: 'idx_alerts_device_at_code',
        columnNames: ['device_id', 'at', 'code'],
        isUnique: true,
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const table of [
      'alerts',
      'telemetry',
      'data_keys',
      'rollouts',
      'device_reported',
      'device_desired',
      'policy_versions',
      'policies',
    ]) {
      await qr.dropTable(table);
    }
  }
}

function deviceFk(): TableForeignKey {
  return new TableForeignKey({
    columnNames: ['device_id'],
    referencedTableName: 'devices',
    referencedColumnNames: ['id'],
    onDelete: 'CASCADE',
  });
}
