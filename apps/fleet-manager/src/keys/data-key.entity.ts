// A fleet data key (AES-256). The material is kept so that devices enrolled
// later can be given the current set; it leaves this service only wrapped to
// one device's X25519 key. Stored unencrypted, like the CA key (see README).
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'data_keys' })
export class DataKeyRecord {
  @PrimaryColumn({ name: 'key_id', type: 'varchar', length: 64 })
  keyId!: string;

  /** The key-set version that introduced this key. */
  @Column({ name: 'key_set_version', type: 'integer' })
  keySetVersion!: number;

  /** Base64. */
  @Column({ type: 'text' })
  material!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: Date, nullable: true })
  retiredAt!: Date | null;
}
