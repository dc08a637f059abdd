/**
 * Application payloads that tshark dissects cleanly: DNS queries and
 * answers, NTP client/server packets, SNMPv2c get/response, a TLS
 * application-data record header. Each writes at `off` and returns bytes.
 */
import { copyBytes, type Ip6 } from './addr.js';
import { put16, put32 } from './checksum.js';

const NAMES = [
  'example.com',
  'www.example.org',
  'api.netmirror.test',
  'updates.vendor.example',
  'mail.example.net',
  'cdn.static.example.com',
  'time.example.org',
  'login.corp.example',
];

/** Names in DNS wire format (labels), encoded once. */
export const DNS_NAMES: readonly Uint8Array[] = NAMES.map((n) => {
  const out: number[] = [];
  for (const label of n.split('.')) {
    out.push(label.length, ...Buffer.from(label, 'ascii'));
  }
  out.push(0);
  return Uint8Array.from(out);
});

export const DnsType = { A: 1, AAAA: 28 } as const;

function writeQuestion(buf: Uint8Array, off: number, name: Uint8Array, qtype: number): number {
  copyBytes(buf, off, name);
  put16(buf, off + name.length, qtype);
  put16(buf, off + name.length + 2, 1); // IN
  return name.length + 4;
}

export function writeDnsQuery(
  buf: Uint8Array,
  off: number,
  id: number,
  name: Uint8Array,
  qtype: number,
): number {
  put16(buf, off, id);
  put16(buf, off + 2, 0x0100); // RD
  put16(buf, off + 4, 1);
  put32(buf, off + 6, 0);
  put16(buf, off + 10, 0);
  return 12 + writeQuestion(buf, off + 12, name, qtype);
}

/**
 * A response with one answer (A: `v4`, AAAA: `v6`) or, when `nxdomain`, none.
 */
export function writeDnsResponse(
  buf: Uint8Array,
  off: number,
  id: number,
  name: Uint8Array,
  qtype: number,
  v4: number,
  v6: Ip6,
  ttl: number,
  nxdomain: boolean,
): number {
  put16(buf, off, id);
  put16(buf, off + 2, nxdomain ? 0x8183 : 0x8180);
  put16(buf, off + 4, 1);
  put16(buf, off + 6, nxdomain ? 0 : 1);
  put32(buf, off + 8, 0);
  let at = off + 12 + writeQuestion(buf, off + 12, name, qtype);
  if (nxdomain) return at - off;
  put16(buf, at, 0xc00c); // pointer to the question name
  put16(buf, at + 2, qtype);
  put16(buf, at + 4, 1);
  put32(buf, at + 6, ttl);
  if (qtype === DnsType.AAAA) {
    put16(buf, at + 10, 16);
    copyBytes(buf, at + 12, v6, 16);
    at += 28;
  } else {
    put16(buf, at + 10, 4);
    put32(buf, at + 12, v4);
    at += 16;
  }
  return at - off;
}

/** NTPv4 client (mode 3) or server (mode 4) packet, 48 bytes. `tsSec` is Unix time. */
export function writeNtp(
  buf: Uint8Array,
  off: number,
  server: boolean,
  tsSec: number,
  frac: number,
): number {
  buf.fill(0, off, off + 48);
  const ntpSec = (tsSec + 2208988800) >>> 0;
  buf[off] = server ? 0x24 : 0x23;
  if (server) {
    buf[off + 1] = 2; // stratum
    buf[off + 2] = 6; // poll
    buf[off + 3] = 0xe9; // precision
    put32(buf, off + 4, 0x00000a3c); // root delay
    put32(buf, off + 8, 0x00000b21); // root dispersion
    put32(buf, off + 12, 0x0a140001); // reference id
    put32(buf, off + 16, ntpSec - 64);
    put32(buf, off + 24, ntpSec); // origin
    put32(buf, off + 28, frac);
    put32(buf, off + 32, ntpSec); // receive
    put32(buf, off + 36, (frac + 0x1000) >>> 0);
  }
  put32(buf, off + 40, ntpSec); // transmit
  put32(buf, off + 44, (frac + 0x2000) >>> 0);
  return 48;
}

// SNMPv2c, community "public", sysUpTime.0 (1.3.6.1.2.1.1.3.0).
// prettier-ignore
const SNMP_GET = Uint8Array.from([
  0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63,
  0xa0, 0x1c, 0x02, 0x04, 0, 0, 0, 0, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
  0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x05, 0x00,
]);
// prettier-ignore
const SNMP_RESPONSE = Uint8Array.from([
  0x30, 0x2d, 0x02, 0x01, 0x01, 0x04, 0x06, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63,
  0xa2, 0x20, 0x02, 0x04, 0, 0, 0, 0, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
  0x30, 0x12, 0x30, 0x10, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x43, 0x04, 0, 0, 0, 0,
]);

/** SNMPv2c get-request or get-response; `requestId` and `uptime` must be in [0x01000000, 0x7fffffff] (4-byte BER). */
export function writeSnmp(
  buf: Uint8Array,
  off: number,
  response: boolean,
  requestId: number,
  uptime: number,
): number {
  const t = response ? SNMP_RESPONSE : SNMP_GET;
  copyBytes(buf, off, t);
  put32(buf, off + 17, requestId);
  if (response) put32(buf, off + 43, uptime);
  return t.length;
}

/** TLS 1.2-framed application-data record header for a record of `len` bytes after it. Returns 5. */
export function writeTlsRecordHeader(buf: Uint8Array, off: number, len: number): number {
  buf[off] = 0x17;
  buf[off + 1] = 0x03;
  buf[off + 2] = 0x03;
  put16(buf, off + 3, len);
  return 5;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const HTTP_REQ_HEAD = ascii('GET /assets/');
const HTTP_REQ_MID = ascii(
  ' HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: capgen/1.0\r\nAccept: */*\r\nX-Request-Pad: ',
);
const HTTP_END = ascii('\r\n\r\n');
const HTTP_RESP_HEAD = ascii(
  'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ',
);
/** Smallest HTTP request `writeHttpRequest` can make. */
export const HTTP_MIN_REQUEST = HTTP_REQ_HEAD.length + 8 + HTTP_REQ_MID.length + HTTP_END.length;

/** An HTTP/1.1 GET of exactly `len` bytes (>= HTTP_MIN_REQUEST), padded with a header. */
export function writeHttpRequest(buf: Uint8Array, off: number, len: number, id: number): number {
  let at = off;
  copyBytes(buf, at, HTTP_REQ_HEAD);
  at += HTTP_REQ_HEAD.length;
  for (let i = 0; i < 8; i++) buf[at + i] = 0x61 + ((id >>> (i * 3)) & 7) + (i & 1) * 8; // a..p
  at += 8;
  copyBytes(buf, at, HTTP_REQ_MID);
  at += HTTP_REQ_MID.length;
  const pad = off + len - HTTP_END.length - at;
  buf.fill(0x78, at, at + pad); // 'x'
  at += pad;
  copyBytes(buf, at, HTTP_END);
  return len;
}

function digits(n: number): number {
  return n < 10 ? 1 : Math.floor(Math.log10(n)) + 1;
}

/**
 * The head of an HTTP/1.1 200 response whose head plus body are `total`
 * bytes (Content-Length is set to match). Returns the head's length.
 */
export function writeHttpResponseHead(buf: Uint8Array, off: number, total: number): number {
  const fixed = HTTP_RESP_HEAD.length + HTTP_END.length;
  let d = digits(Math.max(total - fixed, 0));
  if (digits(Math.max(total - fixed - d, 0)) !== d) d--;
  const body = Math.max(total - fixed - d, 0);
  copyBytes(buf, off, HTTP_RESP_HEAD);
  let at = off + HTTP_RESP_HEAD.length;
  const nd = digits(body);
  for (let i = nd - 1, v = body; i >= 0; i--, v = Math.floor(v / 10)) buf[at + i] = 0x30 + (v % 10);
  at += nd;
  copyBytes(buf, at, HTTP_END);
  return at + HTTP_END.length - off;
}
