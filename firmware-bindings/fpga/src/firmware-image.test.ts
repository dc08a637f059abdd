import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildFirmwareImage,
  checkFirmwareImage,
  IMAGE_HEADER_BYTES,
  parseImageHeader,
  rawPublicKey,
} from './firmware-image.js';
import { boardProfilesDir, loadBoardProfile } from './profiles.js';

const DEV_KEY = readFileSync(join(boardProfilesDir(), '../keys/netmirror-dev-2026.pem'), 'utf8');
const board = loadBoardProfile('nm-tap-4x10g');
const keys = board.firmware.signingKeys;
const payload = Buffer.from('NMBITSTREAM\n{"healthy":true}\n'.padEnd(3000, 'x'));
const image = (over: Partial<Parameters<typeof buildFirmwareImage>[0]> = {}): Buffer =>
  buildFirmwareImage({
    boardId: board.boardId,
    version: { major: 1, minor: 4, patch: 2 },
    payload,
    buildTime: 1_795_000_000,
    keyId: 'netmirror-dev-2026',
    privateKey: DEV_KEY,
    ...over,
  });

const dir = mkdtempSync(join(tmpdir(), 'nm-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('firmware image format 1', () => {
  it('the development key is the one the profiles trust', () => {
    expect(rawPublicKey(DEV_KEY)).toBe(keys[0].ed25519PublicKey);
  });

  it('header fields, as a hex dump reads them', () => {
    const img = image();
    expect(img.subarray(0, 32).toString('hex').match(/.{8}/g)).toEqual([
      '4e4d4657', // "NMFW"
      '01004000', // format 1, header length 64
      '01100000', // board id 0x1001 (nm-tap-4x10g)
      '02040100', // version 1.4.2
      'b80b0000', // payload length 3000
      expect.stringMatching(/^[0-9a-f]{8}$/), // payload CRC-32
      'c086fd6a', // build time 1795000000 ...
      '00000000', // ... (u64)
    ]);
    expect(img).toHaveLength(IMAGE_HEADER_BYTES + 3000 + 64);
    expect(parseImageHeader(img)).toMatchObject({
      boardId: 0x1001,
      version: 0x010402,
      payloadLength: 3000,
      keyId: 'netmirror-dev-2026',
    });
  });

  it('openssl verifies our Ed25519 signature with the profile key', () => {
    const img = image();
    const signed = join(dir, 'signed.bin');
    const sig = join(dir, 'sig.bin');
    const pub = join(dir, 'pub.pem');
    writeFileSync(signed, img.subarray(0, img.length - 64));
    writeFileSync(sig, img.subarray(img.length - 64));
    writeFileSync(pub, execFileSync('openssl', ['pkey', '-pubout'], { input: DEV_KEY }));
    const out = execFileSync('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      pub,
      '-rawin',
      '-in',
      signed,
      '-sigfile',
      sig,
    ]).toString();
    expect(out).toContain('Signature Verified Successfully');
  });

  it('a board accepts it, and refuses damage, other boards and other keys', () => {
    expect(checkFirmwareImage(image(), board.boardId, keys)).toMatchObject({ ok: true });
    const flipped = image();
    flipped[IMAGE_HEADER_BYTES + 100] ^= 1;
    expect(checkFirmwareImage(flipped, board.boardId, keys)).toMatchObject({
      ok: false,
      reason: 'crc',
    });
    const badSig = image();
    badSig[badSig.length - 1] ^= 0x80;
    expect(checkFirmwareImage(badSig, board.boardId, keys)).toEqual({
      ok: false,
      reason: 'signature',
      message: 'bad signature (key "netmirror-dev-2026")',
    });
    const forged = image({ privateKey: generateKeyPairSync('ed25519').privateKey });
    expect(checkFirmwareImage(forged, board.boardId, keys)).toMatchObject({ reason: 'signature' });
    expect(checkFirmwareImage(image({ keyId: 'someone-else' }), board.boardId, keys)).toMatchObject(
      {
        reason: 'key',
        message: 'image is signed with unknown key "someone-else"',
      },
    );
    expect(checkFirmwareImage(image({ boardId: 0x2001 }), board.boardId, keys)).toMatchObject({
      reason: 'board',
      message: 'image is for board 0x00002001, this is 0x00001001',
    });
    expect(checkFirmwareImage(image().subarray(0, 500), board.boardId, keys)).toMatchObject({
      reason: 'header',
      message: 'image is 500 bytes; its header says 3128',
    });
  });
});
