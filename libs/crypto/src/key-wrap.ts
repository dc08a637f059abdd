// A data key wrapped to one device's X25519 key (ECIES in the shape of HPKE
// base mode / JWE ECDH-ES, with names and sizes fixed):
//   ephemeral X25519 key pair e;  Z = X25519(e, recipient)
//   KEK = HKDF-SHA256(ikm = Z, salt = epk || recipientPub, info = label, 32)
//   ct, tag = AES-256-GCM(KEK, iv = 12 random bytes, dataKey, aad = label)
//   label = "netmirror-key-wrap|{deviceId}|{keyId}"
// The salt binds both public keys; label (in both HKDF info and GCM AAD)
// binds the device and the key id, so a wrap moved to another device or
// renamed to another key id fails authentication.
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { DATA_KEY_BYTES } from './data-key.js';
import { KeyUnwrapError } from './errors.js';
import { importPrivateKey, importPublicKey } from './keys.js';
import { requireDeviceId, requireKeyId } from './names.js';

export const WRAP_ALG = 'X25519-HKDF-SHA256-A256GCM';

/** JSON-safe; every binary field is standard base64. */
export interface WrappedDataKey {
  alg: typeof WRAP_ALG;
  /** The ephemeral X25519 public key, raw 32 bytes (RFC 7748 u-coordinate). */
  epk: string;
  /** 12 bytes. */
  iv: string;
  /** The encrypted data key, 32 bytes. */
  ct: string;
  /** The GCM tag, 16 bytes. */
  tag: string;
}

export interface WrapContext {
  deviceId: string;
  keyId: string;
}

const FIELDS = { epk: 32, iv: 12, ct: DATA_KEY_BYTES, tag: 16 } as const;
type BinaryField = keyof typeof FIELDS;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function wrapLabel(ctx: WrapContext): string {
  return `netmirror-key-wrap|${requireDeviceId(ctx.deviceId)}|${requireKeyId(ctx.keyId)}`;
}

/** Wraps a 32-byte data key to the device's X25519 public key (KeyObject, SPKI PEM). */
export function wrapKey(
  dataKey: Uint8Array,
  recipient: KeyObject | string,
  ctx: WrapContext,
): WrappedDataKey {
  if (dataKey.length !== DATA_KEY_BYTES)
    throw new TypeError(`a data key is ${DATA_KEY_BYTES} bytes, got ${dataKey.length}`);
  const label = Buffer.from(wrapLabel(ctx), 'utf8');
  const rcpt = importPublicKey(recipient, 'x25519');
  const eph = generateKeyPairSync('x25519');
  const epk = rawX25519(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: rcpt });
  if (shared.every((b) => b === 0))
    throw new TypeError('the recipient X25519 key is a low-order point');
  const kek = deriveKek(shared, epk, rawX25519(rcpt), label);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv).setAAD(label);
  const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return { alg: WRAP_ALG, epk: b64(epk), iv: b64(iv), ct: b64(ct), tag: b64(cipher.getAuthTag()) };
}

/**
 * Unwraps with the device's X25519 private key (KeyObject or PKCS#8 PEM).
 * Throws KeyUnwrapError: 'malformed' for anything not shaped like a wrap of
 * ours, 'unauthentic' for the wrong key, another deviceId/keyId, or an
 * altered byte (GCM cannot tell these apart, and should not).
 */
export function unwrapKey(
  wrapped: WrappedDataKey,
  recipientPrivateKey: KeyObject | string,
  ctx: WrapContext,
): Buffer {
  const label = wrapLabel(ctx);
  const w = parseWrappedKey(wrapped);
  const priv =
    typeof recipientPrivateKey === 'string'
      ? importPrivateKey(recipientPrivateKey, 'x25519')
      : recipientPrivateKey;
  if (priv.type !== 'private' || priv.asymmetricKeyType !== 'x25519') {
    throw new TypeError(
      `expected an X25519 private key, got a ${priv.type} ${priv.asymmetricKeyType ?? 'secret'} key`,
    );
  }
  const unauthentic = (): KeyUnwrapError =>
    new KeyUnwrapError(
      'unauthentic',
      `cannot unwrap key ${ctx.keyId} for device ${ctx.deviceId}: authentication failed ` +
        "(wrapped to another device's key, for another deviceId or keyId, or altered)",
    );
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: priv, publicKey: x25519FromRaw(w.epk) });
  } catch {
    throw unauthentic(); // OpenSSL refuses low-order points (an all-zero secret)
  }
  if (shared.every((b) => b === 0)) throw unauthentic();
  const aad = Buffer.from(label, 'utf8');
  const kek = deriveKek(shared, w.epk, rawX25519(createPublicKey(priv)), aad);
  const decipher = createDecipheriv('aes-256-gcm', kek, w.iv, { authTagLength: 16 }).setAAD(aad);
  decipher.setAuthTag(w.tag);
  try {
    return Buffer.concat([decipher.update(w.ct), decipher.final()]);
  } catch {
    throw unauthentic();
  }
}

/** For the `wrapped` string of the protocol's key delivery: base64 of the JSON. */
export function encodeWrappedKey(w: WrappedDataKey): string {
  const { alg, epk, iv, ct, tag } = w;
  return Buffer.from(JSON.stringify({ alg, epk, iv, ct, tag }), 'utf8').toString('base64');
}

/** The inverse of encodeWrappedKey; throws KeyUnwrapError('malformed'). */
export function decodeWrappedKey(s: string): WrappedDataKey {
  if (s.length > 4096 || !BASE64.test(s)) throw malformed('not base64');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(s, 'base64').toString('utf8'));
  } catch {
    throw malformed('not base64 of JSON');
  }
  const w = parseWrappedKey(value);
  return { alg: WRAP_ALG, epk: b64(w.epk), iv: b64(w.iv), ct: b64(w.ct), tag: b64(w.tag) };
}

type ParsedWrap = Record<BinaryField, Buffer>;

function parseWrappedKey(value: unknown): ParsedWrap {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed('not an object');
  const o = value as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== 'alg' && !(k in FIELDS));
  if (extra.length > 0) throw malformed(`unexpected field ${extra[0]}`);
  if (o.alg !== WRAP_ALG) throw malformed(`alg is ${JSON.stringify(o.alg)}, expected ${WRAP_ALG}`);
  const out = {} as ParsedWrap;
  for (const [name, len] of Object.entries(FIELDS) as [BinaryField, number][]) {
    const v = o[name];
    if (typeof v !== 'string' || !BASE64.test(v)) throw malformed(`${name} is not a base64 string`);
    const bytes = Buffer.from(v, 'base64');
    if (bytes.length !== len) throw malformed(`${name} is ${bytes.length} bytes, expected ${len}`);
    out[name] = bytes;
  }
  return out;
}

function deriveKek(shared: Buffer, epk: Buffer, rcpt: Buffer, info: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, rcpt]), info, 32));
}

function malformed(why: string): KeyUnwrapError {
  return new KeyUnwrapError('malformed', `not a ${WRAP_ALG} wrapped key: ${why}`);
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

function rawX25519(pub: KeyObject): Buffer {
  const x = pub.export({ format: 'jwk' }).x;
  if (x === undefined) throw new TypeError('not an X25519 public key');
  return Buffer.from(x, 'base64url');
}

function x25519FromRaw(raw: Buffer): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}
