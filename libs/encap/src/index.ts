export type { DecodeError, DecodeResult, InnerFrame } from './result.js';
export { MIN_INNER_FRAME } from './result.js';
export {
  VXLAN_PORT,
  VXLAN_HEADER_LEN,
  VXLAN_FLAG_I,
  VXLAN_MAX_VNI,
  VXLAN_SRC_PORT_MIN,
  VXLAN_SRC_PORT_MAX,
  encodeVxlan,
  decodeVxlan,
  vxlanSourcePort,
} from './vxlan.js';
export type { VxlanHeader } from './vxlan.js';
export {
  GRE_FLAG_C,
  GRE_FLAG_K,
  GRE_FLAG_S,
  greHeaderLength,
  encodeGre,
  decodeGre,
  decodeGreHeader,
} from './gre.js';
export type { GreOptions, GreHeader, GreTebFrame } from './gre.js';
export {
  ERSPAN2_HEADER_LEN,
  ERSPAN3_HEADER_LEN,
  ERSPAN3_SUBHEADER_LEN,
  ERSPAN_GRE_LEN,
  ERSPAN_FT_ETHERNET,
  ERSPAN3_PLATFORM_ID_UPPER_TS,
  ErspanEncap,
  ErspanGranularity,
  encodeErspan2,
  encodeErspan3,
  erspan3Timestamp,
  erspan3TimestampHigh,
  decodeErspan,
} from './erspan.js';
export type {
  Erspan2Options,
  Erspan3Options,
  ErspanFrame,
  ErspanI,
  ErspanII,
  ErspanIII,
  ErspanSubheader,
} from './erspan.js';
export {
  TZSP_PORT,
  TZSP_VERSION,
  TzspType,
  TzspEncap,
  TzspTag,
  tzspHeaderLength,
  encodeTzsp,
  decodeTzsp,
} from './tzsp.js';
export type { TzspOptions, TzspFrame, TzspTagField } from './tzsp.js';
export {
  ETH_HEADER_LEN,
  IPV4_HEADER_LEN,
  UDP_HEADER_LEN,
  internetChecksum,
  parseIPv4,
  parseMac,
  writeEthernetHeader,
  writeIPv4Header,
  writeUdpHeader,
  fillUdpChecksumIPv4,
} from './headers.js';
export type { IPv4HeaderFields } from './headers.js';
