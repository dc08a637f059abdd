// GET /ca.pem: the fleet CA certificate, public, so an appliance can fetch it
// and pin it by the fingerprint in X-NetMirror-CA-Fingerprint (compared with
// one it got out of band, e.g. with its enrollment token).
import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, NotFoundException, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CERTIFICATE_AUTHORITY, type CertificateAuthority } from './certificate-authority.js';
import { caFingerprint } from './crypto-certificate-authority.js';

export const CA_FINGERPRINT_HEADER = 'X-NetMirror-CA-Fingerprint';

@ApiTags('enrollment')
@Controller()
export class CaController {
  private readonly published: { pem: string; fingerprint: string } | null;

  constructor(@Inject(CERTIFICATE_AUTHORITY) ca: CertificateAuthority) {
    const pem = ca.certificatePem;
    this.published = pem ? { pem, fingerprint: caFingerprint(pem) } : null;
  }

  @Get('ca.pem')
  @ApiProduces('application/x-pem-file')
  @ApiOkResponse({
    type: String,
    description: 'the fleet CA certificate (PEM)',
    headers: {
      [CA_FINGERPRINT_HEADER]: {
        description:
          "SHA-256 of the CA's public key (SPKI DER), AB:CD:… (libs/crypto fingerprint())",
        schema: { type: 'string' },
      },
    },
  })
  @ApiNotFoundResponse({
    description: 'the configured certificate authority publishes no certificate',
  })
  caPem(@Res({ passthrough: true }) res: ServerResponse): string {
    if (!this.published)
      throw new NotFoundException('the configured certificate authority publishes no certificate');
    res.setHeader('Content-Type', 'application/x-pem-file');
    res.setHeader(CA_FINGERPRINT_HEADER, this.published.fingerprint);
    return this.published.pem;
  }
}
