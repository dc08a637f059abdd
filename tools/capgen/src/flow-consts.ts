/** Constants shared by the flow state machines (`flows.ts` and `flow-*.ts`). */
import type { Mac } from './addr.js';

export const ZERO_MAC: Mac = new Uint8Array(6);
export const BROADCAST: Mac = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

// L2 wrapping of a flow.
export const W_NONE = 0;
export const W_VLAN = 1;
export const W_QINQ = 2;
export const W_MPLS = 3;
export const VLAN_IDS = [10, 10, 10, 20, 20, 20, 100, 100, 200, 4094];
export const S_VLAN_IDS = [100, 200, 300];
export const C_VLAN_IDS = [10, 20, 30, 4094];

// IPv6 extension headers a flow carries.
export const X_NONE = 0;
export const X_HBH = 1;
export const X_DST = 2;
export const X_RT = 3;

// UDP services.
export const U_DNS = 0;
export const U_NTP = 1;
export const U_SNMP = 2;
export const U_STREAM = 3;

// TCP phases.
export const P_SYN = 0;
export const P_SYNACK = 1;
export const P_ACK = 2;
export const P_REQ = 3;
export const P_RESP = 4;
export const P_CACK = 5;
export const P_FIN1 = 6;
export const P_FIN2 = 7;
export const P_LAST = 8;
export const P_REFUSED = 9;
export const P_ABORT = 10;

export const TCP_PORTS = [443, 80, 22, 25, 8080, 0];
/** Dynamic-range ports with a tshark 4.0 dissector (`tshark -G decodes`), skipped for random ports. */
export const DISSECTED_HIGH_PORTS: ReadonlySet<number> = new Set([
  49999, 54328, 56000, 56001, 56500, 56501, 57000, 57001, 57032, 57033, 57500, 57501, 57532, 57533,
  59000, 59001, 59032, 59033, 59500, 59501, 59532, 59533, 60001,
]);

/**
 * First 4 bytes of random-port UDP payloads (ff 00 'C' 'G'): without it
 * tshark's heuristic dissectors sometimes claim random bytes and report them
 * as malformed. 0xff is a reserved OSI length indicator (CLTP/GOOSE reject
 * it) and its top bits are not RTP/RTCP version 2.
 */
export const PAYLOAD_MAGIC = 0xff004347;
export const MAGIC_SUM = 0xff00 + 0x4347;

/** Share of TCP flows per server port (0: a random port in 49152-65535). */
export const TCP_PORT_WEIGHTS = [55, 15, 8, 4, 6, 12];
export const AUX = 6;
