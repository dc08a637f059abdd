// A firmware image for a hardware tap board, as uploaded and checked. Its
// bytes are in firmware_image_data (see the migration), not in this entity.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../database/columns.js';

@Entity({ name: 'firmware_images' })
export class FirmwareImage {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The header's board id (BOARD_ID register value). */
  @Column({ name: 'board_id', type: 'bigint', transformer: bigintAsNumber })
  boardId!: number;

  /** The profile whose board id that is, and whose keys verified the signature. */
  @Column({ name: 'board_profile', type: 'varchar', length: 64 })
  boardProfile!: string;

  /** `major.minor.patch`. */
  @Column({ type: 'varchar', length: 16 })
  version!: string;

  @Column({ type: 'integer' })
  size!: number;

  /** Lowercase hex SHA-256 of the whole image. */
  @Column({ type: 'varchar', length: 64 })
  sha256!: string;

  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId!: string;

  /** The header's build time. */
  @Column({ name: 'built_at', type: Date })
  builtAt!: Date;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
