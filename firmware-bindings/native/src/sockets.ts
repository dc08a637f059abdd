// Batched datagram sending: raw IP sockets and sendmmsg(), which Node's
// dgram module cannot do.
import { constants } from 'node:os';
import { native } from './native.js';

/** Most messages one sendBatch call sends (larger counts are cut to this). */
export const SEND_BATCH_MAX: number = native.sendBatchMax;

const e = constants.errno;
/**
 * The errno values sendBatch returns negated (this platform's numbers, from
 * Node's os.constants). `-Errno.EAGAIN`: the socket buffer is full, retry
 * when it drains; `-Errno.EMSGSIZE`: a datagram is larger than the path allows.
 */
export const Errno: Readonly<{
  EAGAIN: number;
  EMSGSIZE: number;
  ENOBUFS: number;
  ECONNREFUSED: number;
  EHOSTUNREACH: number;
  ENETUNREACH: number;
  EADDRNOTAVAIL: number;
  EAFNOSUPPORT: number;
  EINVAL: number;
  EPERM: number;
  EACCES: number;
  ENOTSOCK: number;
}> = Object.freeze({
  EAGAIN: e.EAGAIN,
  EMSGSIZE: e.EMSGSIZE,
  ENOBUFS: e.ENOBUFS,
  ECONNREFUSED: e.ECONNREFUSED,
  EHOSTUNREACH: e.EHOSTUNREACH,
  ENETUNREACH: e.ENETUNREACH,
  EADDRNOTAVAIL: e.EADDRNOTAVAIL,
  EAFNOSUPPORT: e.EAFNOSUPPORT,
  EINVAL: e.EINVAL,
  EPERM: e.EPERM,
  EACCES: e.EACCES,
  ENOTSOCK: e.ENOTSOCK,
});

/** Name of an errno value, positive or negated ("EAGAIN"), or "E<n>" when unknown. */
export function errnoName(code: number): string {
  const n = Math.abs(code);
  for (const [name, value] of Object.entries(e)) if (value === n) return name;
  return `E${n}`;
}

export type IpFamily = 4 | 6;

export interface UdpSocketOptions {
  /** SO_SNDBUF in bytes (SO_SNDBUFFORCE when permitted, so wmem_max does not cap it). */
  sndbuf?: number;
}

/**
 * Opens an unconnected UDP socket: non-blocking, close-on-exec. Returns the fd,
 * which only closeSocket may close. Throws an Error with `code` on failure.
 */
export function openUdpSocket(family: IpFamily, options: UdpSocketOptions = {}): number {
  return native.openUdpSocket(family, options.sndbuf ?? 0);
}

/**
 * Opens a raw IP socket for one IP protocol (e.g. 47, GRE): the kernel builds
 * the IP header, the caller supplies everything after it. Needs CAP_NET_RAW.
 * Send to a sockaddr with port 0. IPPROTO_RAW (255, header included) is refused.
 */
export function openRawIpSocket(family: IpFamily, protocol: number): number {
  return native.openRawIpSocket(family, protocol);
}

/**
 * Opens an AF_PACKET socket that sends whole frames (from the MAC header on)
 * out of `ifname`, e.g. a monitor port: pass `sockaddr` to sendBatch or
 * sendBatchAsync. It receives nothing. Needs CAP_NET_RAW.
 */
export function openPacketSendSocket(
  ifname: string,
  options: UdpSocketOptions = {},
): { fd: number; sockaddr: Buffer } {
  return native.openPacketSendSocket(ifname, options.sndbuf ?? 0);
}

/** Closes a socket this package opened; any other fd is refused with a TypeError. */
export function closeSocket(fd: number): void {
  native.closeSocket(fd);
}

/**
 * Builds a sockaddr_in or sockaddr_in6 for `address` (an IPv4 or IPv6
 * literal, IPv6 optionally with a zone, "fe80::1%eth0") and `port`.
 * Throws a TypeError for anything that is not an address literal (no DNS).
 */
export function makeSockaddr(address: string, port: number): Buffer {
  return native.makeSockaddr(address, port);
}

/**
 * Sends datagrams `buf[offsets[i] .. offsets[i] + lengths[i])` for i in
 * [start, start + min(count, SEND_BATCH_MAX)) to `sockaddr` with one
 * sendmmsg(). Never blocks. Returns how many were sent, which may be fewer
 * than asked (send the rest later), or a negative errno when none was sent:
 * `-Errno.EAGAIN` when the socket buffer is full. Every message in the range
 * is bounds-checked first; a bad one throws a RangeError and nothing is sent.
 */
export function sendBatch(
  fd: number,
  sockaddr: Uint8Array,
  buf: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  start: number,
  count: number,
): number {
  return native.sendBatch(fd, sockaddr, buf, offsets, lengths, start, count);
}

/** A classic BPF program that accepts nothing ("ret #0"), for send-only sockets. */
export const DROP_ALL_FILTER: Buffer = Buffer.from([0x06, 0, 0, 0, 0, 0, 0, 0]);

/**
 * Attaches a classic BPF socket filter (SO_ATTACH_FILTER); `program` is
 * `struct sock_filter` bytes as `compileBpf` returns them.
 */
export function attachSocketFilter(fd: number, program: Uint8Array): void {
  native.attachSocketFilter(fd, program);
}

/** Integer socket options the agent sets, as (level, name). */
export const SocketOption = {
  /** Kernel computes the checksum at this offset of a raw IPv6 socket's payload (UDP: 6). */
  IPV6_CHECKSUM: { level: 41, name: 7 },
  SO_SNDBUF: { level: 1, name: 7 },
  SO_RCVBUF: { level: 1, name: 8 },
} as const;

export function setSocketOption(
  fd: number,
  option: { level: number; name: number },
  value: number,
): void {
  native.setSocketOption(fd, option.level, option.name, value);
}

/**
 * Sends messages `[start, start+count)` like `sendBatch`, but from a worker
 * thread, so the kernel's send path costs the caller's thread nothing. Every
 * message is attempted (a full socket buffer is waited out, up to about a
 * second); `done(sent, errno)` reports how many went and, when `errno` is not
 * 0, the error of message `start + sent`, after which the worker stopped.
 * `buf` must not be modified until `done` runs.
 */
export function sendBatchAsync(
  fd: number,
  sockaddr: Uint8Array,
  buf: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  start: number,
  count: number,
  done: (sent: number, errno: number) => void,
): void {
  native.sendBatchAsync(fd, sockaddr, buf, offsets, lengths, start, count, done);
}
