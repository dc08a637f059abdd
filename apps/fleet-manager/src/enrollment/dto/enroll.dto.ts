import { createPublicKey, type KeyObject } from 'node:crypto';
import { ApiProperty } from '@nestjs/swagger';
import { Fields, FieldError } from '../../common/validation.js';
import { DeviceDto, DevicePublicKeysDto } from '../../devices/dto/device.dto.js';
import type { DevicePublicKeys } from '../../devices/device.entity.js';

/** Device ids appear in MQTT topics: no '/', '+', '#', spaces. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/;
const VERSION = /^[\w.+-]{1,100}$/;

export class EnrollDto {
  @ApiProperty({ type: String, description: 'the one-time enrollment token' }) token!: string;
  @ApiProperty({
    type: String,
    required: false,
    pattern: DEVICE_ID.source,
    description: 'generated if absent',
  })
  deviceId?: string;
  @ApiProperty({ type: String, required: false, description: 'PKCS#10 CSR (PEM) for the TLS key' })
  csrPem?: string;
  @ApiProperty({ type: DevicePublicKeysDto }) publicKeys!: DevicePublicKeys;
  @ApiProperty({
    type: String,
    required: false,
    description: "where the appliance stands, as set at provisioning (the device record's site)",
  })
  site?: string;
  @ApiProperty({ type: String, required: false }) model?: string;
  @ApiProperty({ type: String, required: false }) firmwareVersion?: string;
  @ApiProperty({ type: String, required: false }) agentVersion?: string;
}

/**
 * What `POST /enroll` answers: the device as registered, plus what the
 * appliance needs to join the fleet: the broker to connect to and the CA
 * that signed its certificate (so it can pin it from now on).
 */
export class EnrolledDeviceDto extends DeviceDto {
  @ApiProperty({
    type: String,
    example: 'mqtt://127.0.0.1:1883',
    description: 'the MQTT broker the device connects to (mqtt:// or mqtts://)',
  })
  brokerUrl!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'the fleet CA certificate (PEM); null if the configured CA publishes none',
  })
  caPem!: string | null;
}

function publicKeyPem(f: Fields, key: string, accept: (k: KeyObject) => string | null): string {
  const pem = f.string(key, {
    max: 16384,
    pattern: /-----BEGIN PUBLIC KEY-----/,
    hint: 'must be a PEM "PUBLIC KEY" (SPKI)',
  });
  let k: KeyObject;
  try {
    k = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new FieldError(`publicKeys.${key}`, 'is not a parseable PEM public key');
  }
  const problem = accept(k);
  if (problem) throw new FieldError(`publicKeys.${key}`, problem);
  return k.export({ type: 'spki', format: 'pem' }).toString();
}

export function parseEnroll(input: unknown): EnrollDto {
  const f = new Fields(input, '', [
    'token',
    'deviceId',
    'csrPem',
    'publicKeys',
    'site',
    'model',
    'firmwareVersion',
    'agentVersion',
  ]);
  const token = f.string('token', { max: 200 });
  const deviceId = f.optionalString('deviceId', {
    max: 64,
    pattern: DEVICE_ID,
    hint: 'must be 3..64 of A-Z a-z 0-9 . _ - starting with a letter or digit',
  });
  const csrPem = f.optionalString('csrPem', {
    max: 16384,
    pattern: /-----BEGIN CERTIFICATE REQUEST-----/,
    hint: 'must be a PEM "CERTIFICATE REQUEST"',
  });
  if (!f.has('publicKeys')) throw new FieldError('publicKeys', 'is required');
  const keys = f.object('publicKeys', ['tls', 'x25519']);
  const tls = publicKeyPem(keys, 'tls', (k) => {
    const t = k.asymmetricKeyType;
    if (t === 'ec' || t === 'ed25519') return null;
    if (t === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return null;
    return `must be an EC, Ed25519 or RSA >= 2048 key (got ${t})`;
  });
  const x25519 = publicKeyPem(keys, 'x25519', (k) =>
    k.asymmetricKeyType === 'x25519' ? null : `must be an X25519 key (got ${k.asymmetricKeyType})`,
  );
  return {
    token,
    deviceId,
    csrPem,
    publicKeys: { tls, x25519 },
    site: f.optionalString('site', { max: 200 }),
    model: f.optionalString('model', { max: 200 }),
    firmwareVersion: f.optionalString('firmwareVersion', {
      pattern: VERSION,
      hint: 'must be a version string',
    }),
    agentVersion: f.optionalString('agentVersion', {
      pattern: VERSION,
      hint: 'must be a version string',
    }),
  };
}
