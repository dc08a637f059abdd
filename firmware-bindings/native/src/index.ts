// Public API of @netmirror/native. Everything else in this package is private.
export {
  BPF_INSN_SIZE,
  compileBpf,
  validateBpf,
  bpfFilterBatch,
  bpfToText,
  bpfToDdd,
  bpfFromDdd,
  decodeBpf,
  encodeBpf,
} from './bpf.js';
export type { BpfInsn } from './bpf.js';
export {
  SEND_BATCH_MAX,
  Errno,
  errnoName,
  openUdpSocket,
  openRawIpSocket,
  closeSocket,
  makeSockaddr,
  sendBatch,
  sendBatchAsync,
  attachSocketFilter,
  setSocketOption,
  SocketOption,
  DROP_ALL_FILTER,
} from './sockets.js';
export type { IpFamily, UdpSocketOptions } from './sockets.js';
export { copyBatch } from './memory.js';
