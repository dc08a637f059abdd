export { TcOffload } from './tc-offload.js';
export type { OffloadCounters } from './tc-offload.js';
export { TcOffloadSession } from './tc-session.js';
