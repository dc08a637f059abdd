/** TCP connections: handshake, request/response rounds with delayed ACKs, FIN or RST. */
import { EtherType, IpProto } from '@netmirror/packet';
import {
  HTTP_MIN_REQUEST,
  writeHttpRequest,
  writeHttpResponseHead,
  writeTlsRecordHeader,
} from './apps.js';
import { put16, put32 } from './checksum.js';
import { K_TCP6 } from './kinds.js';
import { TcpFlag, writeTcp } from './transport.js';
import {
  P_SYN,
  P_SYNACK,
  P_ACK,
  P_REQ,
  P_RESP,
  P_CACK,
  P_FIN1,
  P_FIN2,
  P_LAST,
  P_REFUSED,
  P_ABORT,
  AUX,
} from './flow-consts.js';
import type { Flows } from './flows.js';

/** The connection's next segment; see the P_* phases. */
export function emitTcp(fl: Flows, f: number, buf: Buffer, off: number): number {
  const rng = fl.rng;
  const v6 = fl.kind[f] === K_TCP6;
  const t = fl.tcpSpec;
  const ph = fl.phase[f];
  const port = fl.dport[f];
  let fromClient = true;
  let flags: number = TcpFlag.ACK;
  let plen = 0;
  let next = ph;
  const ts = fl.tsOn[f] === 1;
  t.options = ts ? fl.tsOpts : undefined;
  const ipHdr = v6 ? fl.ip6HdrLen(f) : 20;
  const mss = fl.maxFrame[f] - fl.l2Len(f) - ipHdr - 20;
  const seg = mss - (ts ? 12 : 0);
  switch (ph) {
    case P_SYN:
      flags = TcpFlag.SYN;
      t.options = ts ? fl.synOptsLinux : fl.synOptsWin;
      put16(t.options, 2, mss);
      next = fl.aux[f * AUX] === 2 ? P_REFUSED : P_SYNACK;
      break;
    case P_SYNACK:
      fromClient = false;
      flags = TcpFlag.SYN | TcpFlag.ACK;
      t.options = ts ? fl.synOptsLinux : fl.synOptsWin;
      put16(t.options, 2, mss);
      next = P_ACK;
      break;
    case P_ACK:
      next = P_REQ;
      break;
    case P_REQ:
      flags = TcpFlag.ACK | TcpFlag.PSH;
      plen =
        port === 22 ? rng.range(36, 120) : port === 25 ? rng.range(20, 1200) : rng.range(60, 700);
      if (port === 80 || port === 8080) plen = Math.max(plen, HTTP_MIN_REQUEST);
      plen = Math.min(plen, seg);
      fl.bulk[f] = responseSize(fl, port);
      fl.aux[f * AUX + 1] = fl.bulk[f];
      fl.segs[f] = 0;
      next = P_RESP;
      break;
    case P_RESP: {
      fromClient = false;
      let n = Math.min(fl.bulk[f], seg);
      const rest = fl.bulk[f] - n;
      if (rest > 0 && rest < 40) n -= 40 - rest;
      plen = n;
      fl.bulk[f] -= n;
      fl.segs[f]++;
      if (fl.bulk[f] === 0) flags |= TcpFlag.PSH;
      if (fl.bulk[f] === 0 || (fl.segs[f] & 1) === 0) next = P_CACK;
      break;
    }
    case P_CACK:
      next =
        fl.bulk[f] > 0
          ? P_RESP
          : --fl.count[f] > 0
            ? P_REQ
            : fl.aux[f * AUX] === 1
              ? P_ABORT
              : P_FIN1;
      break;
    case P_FIN1:
      flags = TcpFlag.FIN | TcpFlag.ACK;
      next = P_FIN2;
      break;
    case P_FIN2:
      fromClient = false;
      flags = TcpFlag.FIN | TcpFlag.ACK;
      next = P_LAST;
      break;
    case P_LAST:
      break;
    case P_REFUSED:
    case P_ABORT:
      fromClient = false;
      flags = TcpFlag.RST | TcpFlag.ACK;
      t.options = undefined;
      break;
  }
  fl.fromClient = fromClient;
  const cl = fl.c[f];
  const sv = fl.s[f];
  const from = fromClient ? cl : sv;
  const to = fromClient ? sv : cl;
  t.srcPort = fromClient ? fl.sport[f] : port;
  t.dstPort = fromClient ? port : fl.sport[f];
  t.flags = flags;
  const seqC = fl.seqC[f];
  const seqS = fl.seqS[f];
  if (fromClient) {
    t.seq = seqC;
    t.ack = ph === P_SYN ? 0 : seqS;
    t.window = ph === P_SYN ? 64240 : 502;
  } else {
    t.seq = ph === P_REFUSED ? 0 : seqS;
    t.ack = seqC;
    t.window = ph === P_SYNACK ? 65160 : ph === P_REFUSED ? 0 : 509;
  }
  if (t.options !== undefined && ts) {
    const now = (fl.nowSec * 1000 + Math.floor(fl.nowNsec / 1e6)) >>> 0;
    const o = t.options;
    const at = o === fl.tsOpts ? 4 : 8;
    const mine = fromClient ? (fl.tsC[f] + now) >>> 0 : (fl.tsS[f] + now) >>> 0;
    const theirs =
      ph === P_SYN ? 0 : fromClient ? (fl.tsS[f] + now) >>> 0 : (fl.tsC[f] + now) >>> 0;
    put32(o, at, mine);
    put32(o, at + 4, theirs);
  }
  // Sequence space consumed.
  const used = plen + ((flags & (TcpFlag.SYN | TcpFlag.FIN)) !== 0 ? 1 : 0);
  if (fromClient) fl.seqC[f] = (seqC + used) >>> 0;
  else if (ph !== P_REFUSED) fl.seqS[f] = (seqS + used) >>> 0;

  const l2 = fl.l2(f, buf, off, from, to, v6 ? EtherType.IPV6 : EtherType.IPV4);
  const l4 = off + l2 + ipHdr;
  const th = writeTcp(buf, l4, t);
  if (plen > 0) {
    const p = l4 + th;
    if (port === 443 && plen > 5) {
      writeTlsRecordHeader(buf, p, plen - 5);
      fl.payload(buf, p + 5, plen - 5);
    } else if (port === 80 || port === 8080) {
      if (ph === P_REQ) writeHttpRequest(buf, p, plen, fl.sport[f]);
      else if (fl.segs[f] === 1) {
        const h = writeHttpResponseHead(buf, p, fl.aux[f * AUX + 1]);
        fl.payload(buf, p + h, plen - h);
      } else fl.payload(buf, p, plen);
    } else fl.payload(buf, p, plen);
  }
  const len = l2 + fl.finishIp(buf, off + l2, f, v6, from, to, IpProto.TCP, th + plen, true);
  fl.phase[f] = next;
  if (ph === P_LAST || ph === P_REFUSED || ph === P_ABORT) fl.done(f);
  return len;
}

/** Bytes a server sends back for one request. */
export function responseSize(fl: Flows, port: number): number {
  const rng = fl.rng;
  if (port === 22) return rng.range(36, 400);
  if (port === 25) return rng.range(20, 120);
  const r = rng.float();
  if (r < 0.4) return rng.range(200, 1400);
  if (r < 0.8) return rng.range(2000, 30000);
  return rng.range(30000, 300000);
}
