import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deviceIdFromCertificate,
  exportDeviceKeys,
  exportPublicKeyPem,
  fingerprint,
  importDeviceKeys,
  isValidDeviceId,
} from '@netmirror/crypto';
import type { DeviceKeys } from '@netmirror/crypto';
import { writeFileAtomic } from './atomic-file.js';
import { makeDirectory } from '../files/index.js';

/** Who this appliance is in its fleet: what enrollment gave it, kept in the state directory. */
export interface DeviceIdentity {
  deviceId: string;
  /** The MQTT broker the fleet manager named at enrollment. */
  brokerUrl: string;
  /** The fleet manager it enrolled with. */
  fleetUrl: string;
  /** Made on this appliance; the private halves never leave it. */
  keys: DeviceKeys;
  /** The TLS client certificate the fleet CA issued for `keys.tls`. */
  certificatePem: string;
  /** The fleet CA certificate, pinned from now on. */
  caPem: string;
  /** SHA-256 of the CA's SPKI DER, `AB:CD:…` (libs/crypto `fingerprint()`). */
  caFingerprint: string;
  /** ISO 8601. */
  enrolledAt: string;
}

/**
 * The files of an identity in the state directory. identity.json is written
 * last: it is the commit mark, so an identity whose write was cut short is
 * simply absent (and the next start enrolls again, overwriting the rest).
 */
export const IDENTITY_FILES = {
  manifest: 'identity.json',
  tlsKey: 'device-tls.key',
  x25519Key: 'device-x25519.key',
  certificate: 'device.pem',
  ca: 'ca.pem',
} as const;

/** identity.json: everything but keys and certificates, which have files of their own. */
interface IdentityManifest {
  v: 1;
  deviceId: string;
  brokerUrl: string;
  fleetUrl: string;
  caFingerprint: string;
  enrolledAt: string;
}

/** identity.json exists but the identity cannot be used; re-enrolling is the way out. */
export class IdentityDamagedError extends Error {
  override name = 'IdentityDamagedError';
}

const PRIVATE = 0o600;
const PUBLIC = 0o644;

/** Reads and writes the device identity in `dir` (the agent's stateDir). */
export class IdentityStore {
  constructor(readonly dir: string) {}

  /** True once an enrollment was completely written. */
  exists(): boolean {
    return existsSync(this.path('manifest'));
  }

  /** The identity, or null if the device has not enrolled; throws IdentityDamagedError. */
  load(): DeviceIdentity | null {
    if (!this.exists()) return null;
    const manifest = this.readManifest();
    let keys: DeviceKeys;
    try {
      keys = importDeviceKeys({
        tls: this.read('tlsKey'),
        x25519: this.read('x25519Key'),
      });
    } catch (err) {
      throw this.damaged(`private keys: ${(err as Error).message}`);
    }
    const identity: DeviceIdentity = {
      deviceId: manifest.deviceId,
      brokerUrl: manifest.brokerUrl,
      fleetUrl: manifest.fleetUrl,
      caFingerprint: manifest.caFingerprint,
      enrolledAt: manifest.enrolledAt,
      keys,
      certificatePem: this.read('certificate'),
      caPem: this.read('ca'),
    };
    const problem = identityProblem(identity);
    if (problem) throw this.damaged(problem);
    return identity;
  }

  /**
   * Writes the identity: private keys 0600, certificates, then identity.json
   * (each atomically). Refuses an inconsistent identity before writing anything.
   */
  save(identity: DeviceIdentity): void {
    const problem = identityProblem(identity);
    if (problem) throw new Error(`refusing to store the identity: ${problem}`);
    makeDirectory(this.dir, 0o700);
    const priv = exportDeviceKeys(identity.keys);
    writeFileAtomic(this.path('tlsKey'), priv.tls, PRIVATE);
    writeFileAtomic(this.path('x25519Key'), priv.x25519, PRIVATE);
    writeFileAtomic(this.path('certificate'), identity.certificatePem, PUBLIC);
    writeFileAtomic(this.path('ca'), identity.caPem, PUBLIC);
    const manifest: IdentityManifest = {
      v: 1,
      deviceId: identity.deviceId,
      brokerUrl: identity.brokerUrl,
      fleetUrl: identity.fleetUrl,
      caFingerprint: identity.caFingerprint,
      enrolledAt: identity.enrolledAt,
    };
    writeFileAtomic(this.path('manifest'), JSON.stringify(manifest, null, 2) + '\n', PUBLIC);
  }

  path(file: keyof typeof IDENTITY_FILES): string {
    return join(this.dir, IDENTITY_FILES[file]);
  }

  private read(file: keyof typeof IDENTITY_FILES): string {
    try {
      return readFileSync(this.path(file), 'utf8');
    } catch (err) {
      throw this.damaged(`${IDENTITY_FILES[file]}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }

  private readManifest(): IdentityManifest {
    let doc: unknown;
    try {
      doc = JSON.parse(this.read('manifest'));
    } catch (err) {
      if (err instanceof IdentityDamagedError) throw err;
      throw this.damaged(`${IDENTITY_FILES.manifest}: ${(err as Error).message}`);
    }
    const field = manifestProblem(doc);
    if (field) throw this.damaged(`${IDENTITY_FILES.manifest}: ${field}`);
    return doc as IdentityManifest;
  }

  private damaged(why: string): IdentityDamagedError {
    return new IdentityDamagedError(
      `the device identity in ${this.dir} is damaged (${why}); ` +
        `move ${IDENTITY_FILES.manifest} away and enroll again with a new token`,
    );
  }
}

function manifestProblem(doc: unknown): string | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'expected an object';
  const m = doc as Record<string, unknown>;
  if (m.v !== 1) return 'v: expected 1';
  if (!isValidDeviceId(m.deviceId)) return 'deviceId: expected [A-Za-z0-9_.-]{1,64}';
  if (typeof m.brokerUrl !== 'string' || !/^mqtts?:\/\//.test(m.brokerUrl))
    return 'brokerUrl: expected mqtt:// or mqtts://';
  if (typeof m.fleetUrl !== 'string') return 'fleetUrl: expected a URL';
  if (typeof m.caFingerprint !== 'string') return 'caFingerprint: expected a string';
  if (typeof m.enrolledAt !== 'string') return 'enrolledAt: expected a date';
  return null;
}

/**
 * Why the parts of an identity do not belong together, or null: the
 * certificate must be for this device and this TLS key, and signed by the
 * pinned CA. Checked before storing and again on every load.
 */
export function identityProblem(id: DeviceIdentity): string | null {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(id.certificatePem);
  } catch {
    return `${IDENTITY_FILES.certificate}: not a PEM certificate`;
  }
  try {
    ca = new X509Certificate(id.caPem);
  } catch {
    return `${IDENTITY_FILES.ca}: not a PEM certificate`;
  }
  if (fingerprint(ca.publicKey) !== id.caFingerprint)
    return `${IDENTITY_FILES.ca}: fingerprint ${fingerprint(ca.publicKey)}, expected ${id.caFingerprint}`;
  if (!cert.verify(ca.publicKey))
    return `${IDENTITY_FILES.certificate}: not signed by the fleet CA`;
  if (exportPublicKeyPem(cert.publicKey) !== exportPublicKeyPem(id.keys.tls.publicKey))
    return `${IDENTITY_FILES.certificate}: certifies another key than ${IDENTITY_FILES.tlsKey}`;
  const named = deviceIdFromCertificate(id.certificatePem);
  if (named !== id.deviceId)
    return `${IDENTITY_FILES.certificate}: names device ${named ?? '(none)'}, expected ${id.deviceId}`;
  return null;
}
