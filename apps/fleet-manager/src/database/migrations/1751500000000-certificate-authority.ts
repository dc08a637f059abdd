// The fleet CA (one row), created by the fleet manager on first start.
// private_key_pem is PKCS#8 PEM, unencrypted for now (README: KMS/HSM or an
// encrypted file next).
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes, dialectOf } from '../dialect.js';

export class CertificateAuthority1751500000000 implements MigrationInterface {
  name = 'CertificateAuthority1751500000000';

  async up(qr: QueryRunner): Promise<void> {
    const t = columnTypes(dialectOf(qr));
    await qr.createTable(
      new Table({
        name: 'certificate_authority',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'certificate_pem', type: 'text' },
          { name: 'private_key_pem', type: 'text' },
          { name: 'created_at', type: t.timestamp },
        ],
      }),
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.dropTable('certificate_authority');
  }
}
