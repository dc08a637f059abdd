// A named, versioned desired state for one domain (mirror rules and
// destinations, or retention), aimed at the devices whose labels match.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Labels } from '../devices/device.entity.js';

export const POLICY_DOMAINS = ['policy', 'retention'] as const;
export type PolicyDomain = (typeof POLICY_DOMAINS)[number];

@Entity({ name: 'policies' })
export class Policy {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  domain!: PolicyDomain;

  /** Every label must match (an empty set matches every device). */
  @Column({ name: 'target_labels', type: 'jsonb' })
  targetLabels!: Labels;

  /** Where several policies of a domain match a device, the highest priority wins (then the name). */
  @Column({ type: 'integer', default: 0 })
  priority!: number;

  @Column({ name: 'latest_version', type: 'integer' })
  latestVersion!: number;

  /** The version new and untouched devices get; set when a rollout completes. */
  @Column({ name: 'deployed_version', type: 'integer', nullable: true })
  deployedVersion!: number | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
