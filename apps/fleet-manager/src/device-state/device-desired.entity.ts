// What one device should run in one domain. `version` is the device's own
// counter (strictly increasing), so moving a device to another policy, or
// rolling back, is always a newer version for the agent.
import { Column, Entity, PrimaryColumn } from 'typeorm';

export type StateDomain = 'policy' | 'retention' | 'keys';

/** JSON as stored; typed loosely on purpose (TypeORM's where-types recurse forever on JsonValue). */
export type StoredSpec = object;

@Entity({ name: 'device_desired' })
export class DeviceDesired {
  @PrimaryColumn({ name: 'device_id', type: 'varchar', length: 64 })
  deviceId!: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  domain!: StateDomain;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'varchar', length: 80 })
  hash!: string;

  /** The spec; for `keys` the wrapped key list as delivered (ciphertext only this device can open). */
  @Column({ type: 'jsonb' })
  spec!: StoredSpec;

  @Column({ type: 'varchar', length: 64, nullable: true })
  policy!: string | null;

  @Column({ name: 'policy_version', type: 'integer', nullable: true })
  policyVersion!: number | null;

  @Column({ name: 'published_at', type: Date })
  publishedAt!: Date;
}
