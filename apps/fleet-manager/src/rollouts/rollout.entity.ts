// A rollout as persisted: the plan (stages), how far it got, and every
// device's outcome, so any replica can resume it after a restart.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DeviceOutcome, RolloutStrategy } from './rollout-plan.js';
import type { PolicyDomain } from '../policies/policy.entity.js';

export type RolloutRecordStatus =
  'running' | 'paused' | 'completed' | 'failed' | 'aborted' | 'rolled-back';

export interface OutcomeEntry {
  outcome: DeviceOutcome;
  error: string | null;
}

@Entity({ name: 'rollouts' })
export class RolloutRecord {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  policy!: string;

  @Column({ type: 'varchar', length: 16 })
  domain!: PolicyDomain;

  @Column({ type: 'integer' })
  version!: number;

  /** The policy's deployed version before this rollout: what a roll back restores. */
  @Column({ name: 'previous_version', type: 'integer', nullable: true })
  previousVersion!: number | null;

  @Column({ type: 'varchar', length: 16 })
  status!: RolloutRecordStatus;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'jsonb' })
  strategy!: RolloutStrategy;

  @Column({ type: 'jsonb' })
  stages!: string[][];

  /** Stages pushed so far. */
  @Column({ type: 'integer' })
  started!: number;

  @Column({ type: 'jsonb' })
  outcomes!: Record<string, OutcomeEntry>;

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
