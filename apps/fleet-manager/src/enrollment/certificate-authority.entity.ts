// The fleet CA, one row (id 'fleet'), written once on first start.
// The private key is stored unencrypted (see README: move it to a KMS/HSM or
// an encrypted file).
import { Column, Entity, PrimaryColumn } from 'typeorm';

export const FLEET_CA_ID = 'fleet';

@Entity({ name: 'certificate_authority' })
export class CertificateAuthorityRecord {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ name: 'certificate_pem', type: 'text' })
  certificatePem!: string;

  /** PKCS#8 PEM, unencrypted. */
  @Column({ name: 'private_key_pem', type: 'text' })
  privateKeyPem!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
