/**
 * Firmware image format 1: a fixed 64-byte header, the payload (the board's
 * bitstream and controller code), and an Ed25519 signature over both.
 *
 *   offset  size  field (little-endian)
 *   0       4     magic "NMFW"
 *   4       2     format (1)
 *   6       2     header length (64)
 *   8       4     board id (the profile's boardId: an image for another board is refused)
 *   12      4     firmware version (FW_VERSION layout: major << 16 | minor << 8 | patch)
 *   16      4     payload length N
 *   20      4     payload CRC-32 (IEEE)
 *   24      8     build time, Unix seconds
 *   32      32    signing key id, ASCII, NUL-padded (which trusted key verifies it)
 *   64      N     payload
 *   64+N    64    Ed25519 signature of bytes [0, 64+N)
 *
 * The CRC catches a damaged transfer cheaply before the signature check; the
 * signature is what makes the board accept the image.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const IMAGE_MAGIC = 'NMFW';
export const IMAGE_FORMAT = 1;
export const IMAGE_HEADER_BYTES = 64;
export const IMAGE_SIGNATURE_BYTES = 64;
const KEY_ID_BYTES = 32;

export interface ImageHeader {
  format: number;
  boardId: number;
  /** FW_VERSION layout. */
  version: number;
  payloadLength: number;
  payloadCrc: number;
  buildTime: number;
  keyId: string;
}

export interface FirmwareImageInput {
  boardId: number;
  version: { major: number; minor: number; patch: number };
  payload: Uint8Array;
  buildTime?: number;
  keyId: string;
  /** Ed25519 private key (PEM text or KeyObject). */
  privateKey: string | KeyObject;
}

/** A trusted Ed25519 public key, as a board profile lists it. */
export interface SigningKey {
  id: string;
  /** Raw 32-byte public key, base64. */
  ed25519PublicKey: string;
}

/** Builds and signs an image. */
export function buildFirmwareImage(input: FirmwareImageInput): Buffer {
  const { major, minor, patch } = input.version;
  for (const [name, v] of [
    ['major', major],
    ['minor', minor],
    ['patch', patch],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new RangeError(`version ${name} ${v}: 0..255`);
  const keyId = Buffer.from(input.keyId, 'ascii');
  if (keyId.length === 0 || keyId.length > KEY_ID_BYTES)
    throw new RangeError(`key id "${input.keyId}": 1..${KEY_ID_BYTES} ASCII characters`);
  const n = input.payload.length;
  const image = Buffer.alloc(IMAGE_HEADER_BYTES + n + IMAGE_SIGNATURE_BYTES);
  image.write(IMAGE_MAGIC, 0, 'ascii');
  image.writeUInt16LE(IMAGE_FORMAT, 4);
  image.writeUInt16LE(IMAGE_HEADER_BYTES, 6);
  image.writeUInt32LE(input.boardId >>> 0, 8);
  image.writeUInt32LE(((major << 16) | (minor << 8) | patch) >>> 0, 12);
  image.writeUInt32LE(n, 16);
  image.writeUInt32LE(crc32(input.payload), 20);
  image.writeBigUInt64LE(BigInt(input.buildTime ?? Math.floor(Date.now() / 1000)), 24);
  keyId.copy(image, 32);
  image.set(input.payload, IMAGE_HEADER_BYTES);
  const key =
    typeof input.privateKey === 'string' ? createPrivateKey(input.privateKey) : input.privateKey;
  sign(null, image.subarray(0, IMAGE_HEADER_BYTES + n), key).copy(image, IMAGE_HEADER_BYTES + n);
  return image;
}

/** The header of `image`, or why it is not an image of format 1 (size and CRC included). */
export function parseImageHeader(image: Uint8Array): ImageHeader | string {
  if (image.length < IMAGE_HEADER_BYTES + IMAGE_SIGNATURE_BYTES)
    return `image is ${image.length} bytes, shorter than a header and a signature`;
  const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (b.toString('ascii', 0, 4) !== IMAGE_MAGIC) return 'not a NetMirror firmware image (magic)';
  const format = b.readUInt16LE(4);
  if (format !== IMAGE_FORMAT) return `image format ${format}; this host knows ${IMAGE_FORMAT}`;
  if (b.readUInt16LE(6) !== IMAGE_HEADER_BYTES)
    return `header length ${b.readUInt16LE(6)} is not 64`;
  const payloadLength = b.readUInt32LE(16);
  const expected = IMAGE_HEADER_BYTES + payloadLength + IMAGE_SIGNATURE_BYTES;
  if (image.length !== expected)
    return `image is ${image.length} bytes; its header says ${expected}`;
  const payloadCrc = b.readUInt32LE(20);
  const actual = crc32(b.subarray(IMAGE_HEADER_BYTES, IMAGE_HEADER_BYTES + payloadLength));
  if (actual !== payloadCrc)
    return `payload CRC ${hex(actual)} does not match the header's ${hex(payloadCrc)}`;
  return {
    format,
    boardId: b.readUInt32LE(8),
    version: b.readUInt32LE(12),
    payloadLength,
    payloadCrc,
    buildTime: Number(b.readBigUInt64LE(24)),
    keyId: b.toString('ascii', 32, 32 + KEY_ID_BYTES).replace(/\0+$/, ''),
  };
}

export type ImageCheck =
  | { ok: true; header: ImageHeader }
  | { ok: false; reason: 'header' | 'crc' | 'board' | 'key' | 'signature'; message: string };

/**
 * Everything a board checks before it will boot an image: format, size, CRC,
 * that it is built for `boardId`, that its key is one of `keys`, and the
 * signature.
 */
export function checkFirmwareImage(
  image: Uint8Array,
  boardId: number,
  keys: readonly SigningKey[],
): ImageCheck {
  const header = parseImageHeader(image);
  if (typeof header === 'string')
    return { ok: false, reason: header.includes('CRC') ? 'crc' : 'header', message: header };
  if (header.boardId !== boardId)
    return {
      ok: false,
      reason: 'board',
      message: `image is for board ${hex(header.boardId)}, this is ${hex(boardId)}`,
    };
  const key = keys.find((k) => k.id === header.keyId);
  if (!key)
    return {
      ok: false,
      reason: 'key',
      message: `image is signed with unknown key "${header.keyId}"`,
    };
  const signed = image.subarray(0, IMAGE_HEADER_BYTES + header.payloadLength);
  const signature = image.subarray(IMAGE_HEADER_BYTES + header.payloadLength);
  if (!verify(null, signed, publicKeyOf(key), signature))
    return { ok: false, reason: 'signature', message: `bad signature (key "${key.id}")` };
  return { ok: true, header };
}

/** The KeyObject of a raw base64 Ed25519 public key. */
export function publicKeyOf(key: SigningKey): KeyObject {
  const raw = Buffer.from(key.ed25519PublicKey, 'base64');
  if (raw.length !== 32) throw new Error(`signing key "${key.id}": not a 32-byte Ed25519 key`);
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/** The raw base64 public key of an Ed25519 private key (for a profile's signingKeys). */
export function rawPublicKey(privateKey: string | KeyObject): string {
  const k = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const jwk = createPublicKey(k).export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url').toString('base64');
}

/** "1.2.3" for a FW_VERSION word. */
export function formatFirmwareVersion(word: number): string {
  return `${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}
