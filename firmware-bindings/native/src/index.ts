// Public API of @netmirror/native. Everything else in this package is private.
export {
  BPF_INSN_SIZE,
  compileBpf,
  compileBpfLive,
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
  openPacketSendSocket,
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
export {
  FanoutMode,
  FanoutFlag,
  TP_STATUS_VLAN_VALID,
  TP_STATUS_VLAN_TPID_VALID,
  openPacketRing,
  nextBlock,
  releaseBlock,
  stats,
  closeRing,
  pollRing,
  ringFill,
  setRingFilter,
  BlockCursor,
  PACKET_OUTGOING,
  walkBlock,
  restoreVlanTag,
  frameBytes,
} from './afpacket.js';
export type {
  PacketRingOptions,
  PacketRing,
  PacketRingStats,
  PacketBlock,
  RingFrame,
} from './afpacket.js';
export {
  XDP_PACKET_HEADROOM,
  openXsk,
  xskReceive,
  xskRelease,
  xskStats,
  xskFill,
  pollXsk,
  closeXsk,
} from './xdp.js';
export type { XdpMode, XskOptions, XskSocket, XskStats } from './xdp.js';
