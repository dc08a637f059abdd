export { FpgaTapSession, parseFpgaSource } from './fpga-session.js';
export type { FirmwareInstallOutcome, FpgaSource } from './fpga-session.js';
export { downloadImage, firmwareInstallHandler, ProgressThrottle } from './firmware-install.js';
export type { FirmwareCommandOptions, ProgressUpdate } from './firmware-install.js';
