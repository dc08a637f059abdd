export { FrameBatch } from './frame-batch.js';
export { LinkType, EtherType, IpProto } from './link-type.js';
export { hex } from './hex.js';
export {
  PacketView,
  Tunnel,
  MAX_VLAN_DEPTH,
  MAX_MPLS_DEPTH,
  MAX_IPV6_EXTENSIONS,
  u16,
  u32,
} from './packet-view.js';
export { decodeFrame, decodeInner } from './decode.js';
export { isVlanTpid } from './vlan.js';
export { flowHash, writeFlowKey, formatFlow, formatAddress, FLOW_KEY_BYTES } from './flow-key.js';
