// One immutable version of a policy: the spec and its content hash.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JsonObject } from '@netmirror/protocol';

@Entity({ name: 'policy_versions' })
export class PolicyVersion {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  policy!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  /** contentHash(spec): what devices report back when it is in effect. */
  @Column({ type: 'varchar', length: 80 })
  hash!: string;

  @Column({ type: 'jsonb' })
  spec!: JsonObject;

  @Column({ type: 'text', nullable: true })
  comment!: string | null;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
