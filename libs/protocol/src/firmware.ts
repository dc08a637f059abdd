// The `firmware.install` command: the fleet manager asks a device to install
// a signed image on its hardware tap board. The device downloads the image
// from `url` (the fleet manager's REST API, with a download token of this
// update in the query: devices have no REST credentials), checks size and
// SHA-256, hands it to the board (which checks CRC, board id and signature
// itself), and sends `command-progress` messages on the response topic
// until it answers with the outcome. Both sides validate with the readers
// here, like every other message.
import { Fields, isPlainObject, describe } from './fields.js';
import type { DecodeResult } from './schemas.js';

export const FIRMWARE_INSTALL = 'firmware.install';

/** Progress phases, in order: the device's download, then the board's own (FirmwareProgress). */
export const FIRMWARE_PHASES = [
  'download',
  'upload',
  'verify',
  'activate',
  'confirm',
  'done',
  'rolled-back',
] as const;
export type FirmwarePhase = (typeof FIRMWARE_PHASES)[number];

// Type aliases, not interfaces: they are assignable to the JsonObject of a command's args.
export type FirmwareInstallArgs = {
  /** The fleet manager's image id. */
  imageId: string;
  /** Where to GET the image: http(s), the download token in the query. */
  url: string;
  /** Bytes of the whole image (header, payload, signature). */
  size: number;
  /** Lowercase hex SHA-256 of the image. */
  sha256: string;
  /** `major.minor.patch`, as in the image header. */
  version: string;
  /** Id of the board profile the image is for, e.g. `nm-tap-4x10g`. */
  board: string;
};

export type FirmwareInstallResult = {
  outcome: 'installed' | 'rolled-back';
  /** The version installed (or tried and rolled back). */
  version: string;
  /** What the board runs after the update (null if it could not be read). */
  running: string | null;
  /** What the board ran before. */
  previous: string | null;
  /** Upload offset an interrupted earlier upload of the same image was resumed from (0: none). */
  resumedAt: number;
  /** The rules in force are on the board again (it restarted) and it is mirroring. */
  rulesRestored: boolean;
  message: string;
};

const VERSION = /^\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BOARD = /^[a-z0-9-]{1,64}$/;
const HTTP_URL = /^https?:\/\/[^\s]+$/;

export function readFirmwareInstallArgs(value: unknown): DecodeResult<FirmwareInstallArgs> {
  if (!isPlainObject(value))
    return { ok: false, reason: `args: expected an object, got ${describe(value)}` };
  const f = new Fields(`${FIRMWARE_INSTALL}.args`, value);
  const args: FirmwareInstallArgs = {
    imageId: f.str('imageId', 64, ID, '[A-Za-z0-9_.-]{1,64}'),
    url: f.str('url', 2048, HTTP_URL, 'an http:// or https:// URL'),
    size: f.int('size', 1),
    sha256: f.str('sha256', 64, SHA256, '64 lowercase hex digits'),
    version: f.str('version', 11, VERSION, 'major.minor.patch'),
    board: f.str('board', 64, BOARD, 'a board profile id'),
  };
  return f.reason === null ? { ok: true, message: args } : { ok: false, reason: f.reason };
}

export function readFirmwareInstallResult(value: unknown): DecodeResult<FirmwareInstallResult> {
  if (!isPlainObject(value))
    return { ok: false, reason: `result: expected an object, got ${describe(value)}` };
  const f = new Fields(`${FIRMWARE_INSTALL}.result`, value);
  const version = (field: string): string | null =>
    f.raw(field) === null ? null : f.str(field, 11, VERSION, 'major.minor.patch');
  const result: FirmwareInstallResult = {
    outcome: f.oneOf('outcome', ['installed', 'rolled-back'] as const),
    version: f.str('version', 11, VERSION, 'major.minor.patch'),
    running: version('running'),
    previous: version('previous'),
    resumedAt: f.int('resumedAt', 0),
    rulesRestored: f.bool('rulesRestored'),
    message: f.str('message', 4096),
  };
  return f.reason === null ? { ok: true, message: result } : { ok: false, reason: f.reason };
}
