export { BoardModel, firmwarePayload } from './board-model.js';
export type { BoardModelOptions, EmitCopy, FirmwareManifest, RaiseEvent } from './board-model.js';
export { BoardEmulator } from './emulator.js';
export type { EmulatorFaults, EmulatorOptions, FeedResult } from './emulator.js';
export { openPortOutput } from './outputs.js';
export type { PortOutput } from './outputs.js';
export { main, parseFaults, USAGE } from './cli.js';
