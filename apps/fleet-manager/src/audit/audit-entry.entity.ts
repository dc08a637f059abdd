// One row of the append-only audit log. Nothing in the code updates or
// deletes these rows, and the migration installs triggers that refuse it.
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AuditDetails = Record<string, unknown>;

@Entity({ name: 'audit_log' })
export class AuditEntry {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id!: number;

  /** e.g. "operator:alice", "device:tap-01", "system". */
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  /** e.g. "device.update", "enrollment.token.create". */
  @Column({ type: 'varchar', length: 100 })
  action!: string;

  /** e.g. "device:tap-01", "enrollment-token:<id>". */
  @Column({ type: 'varchar', length: 200 })
  target!: string;

  @Column({ type: 'jsonb' })
  details!: AuditDetails;

  @Column({ type: Date })
  at!: Date;
}
