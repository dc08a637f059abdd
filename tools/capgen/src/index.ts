// Frame builders: write into a caller's buffer at an offset, return the length.
export { parseMac, parseIPv4, parseIPv6, formatIPv4, type Mac, type Ip6 } from './addr.js';
export { inetChecksum } from './checksum.js';
export {
  writeEthernet,
  writeMplsStack,
  writeArp,
  padFrame,
  ArpOp,
  type VlanTag,
  type MplsLabel,
  type ArpSpec,
} from './l2.js';
export {
  writeIPv4,
  writeIPv6,
  refreshIPv4Checksum,
  type Ipv4Spec,
  type Ipv6Spec,
  type Ipv6Extension,
} from './ip.js';
export {
  writeTcp,
  writeUdp,
  writeIcmpEcho,
  writeNeighborDiscovery,
  writeL4Checksum,
  TcpFlag,
  IcmpType,
  Icmp6Type,
  type TcpSpec,
  type UdpSpec,
} from './transport.js';
export { writeVxlan, writeGre, writeGreChecksum, VXLAN_PORT, type GreSpec } from './tunnel.js';
export { buildFrame, type FrameSpec, type NetworkSpec, type TransportSpec } from './frame.js';
// The mix generator.
export {
  generateCapture,
  DEFAULT_START_SEC,
  type CaptureOptions,
  type CaptureStats,
  type EmitFrame,
} from './generate.js';
export {
  DEFAULT_MIX,
  TRAFFIC_KINDS,
  MALFORMED_KINDS,
  type TrafficKind,
  type MalformedKind,
} from './kinds.js';
export { Prng } from './prng.js';
// File output.
export { writeCaptureFile, type CaptureFileOptions, type CaptureFormat } from './output.js';
