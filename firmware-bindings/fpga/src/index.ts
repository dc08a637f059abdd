export * from './generated/regmap.js';
export {
  boardBaudRate,
  boardProfilesDir,
  ingressPorts,
  KEY_FIELD_WIDTHS,
  listBoardProfiles,
  loadBoardProfile,
  monitorPorts,
  tcamGeometry,
  validateBoardProfile,
} from './profiles.js';
export type {
  BoardPort,
  BoardProfile,
  KeyFieldName,
  KeyFieldSpec,
  TcamGeometry,
} from './profiles.js';
export {
  decodeTcamEntry,
  encodeTcamBank,
  getBits,
  keyLayout,
  setBits,
  tcamTarget,
} from './tcam-bank.js';
export type { DecodedEntry, KeyFieldSlot } from './tcam-bank.js';
export { FrameKeyBuilder, lookupTcam } from './frame-key.js';
export {
  buildFirmwareImage,
  checkFirmwareImage,
  formatFirmwareVersion,
  IMAGE_FORMAT,
  IMAGE_HEADER_BYTES,
  IMAGE_MAGIC,
  IMAGE_SIGNATURE_BYTES,
  parseImageHeader,
  publicKeyOf,
  rawPublicKey,
} from './firmware-image.js';
export type { FirmwareImageInput, ImageCheck, ImageHeader, SigningKey } from './firmware-image.js';
export { BoardClient, BoardError } from './board-client.js';
export type {
  BoardIdentity,
  FirmwareProgress,
  FirmwareReport,
  PortCounters,
  ProgramReport,
} from './board-client.js';
