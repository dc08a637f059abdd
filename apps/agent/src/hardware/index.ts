export { FpgaTapSession, parseFpgaSource } from './fpga-session.js';
export type { FpgaSource } from './fpga-session.js';
