import type { FrameBatch } from '@netmirror/packet';

/** Counters from a pcapng Interface Statistics Block (the latest one wins). */
export interface InterfaceStats {
  /** When the statistics were taken. */
  tsSec: number;
  tsNsec: number;
  /** isb_starttime / isb_endtime, when present. */
  startSec?: number;
  startNsec?: number;
  endSec?: number;
  endNsec?: number;
  /** isb_ifrecv: packets received by the interface. */
  ifRecv?: number;
  /** isb_ifdrop: packets dropped by the interface (no buffer). */
  ifDrop?: number;
  /** isb_filteraccept: packets accepted by the capture filter. */
  filterAccept?: number;
  /** isb_osdrop: packets dropped by the operating system. */
  osDrop?: number;
  /** isb_usrdeliv: packets delivered to the capturing application. */
  usrDeliv?: number;
}

/**
 * One capture interface. A pcap file has exactly one (from its header); a
 * pcapng file has one per Interface Description Block, numbered globally
 * across sections in the order they appear (FrameBatch.ifIndex).
 */
export interface CaptureInterface {
  /** LINKTYPE_* value (low 16 bits of the pcap header field). */
  linkType: number;
  /** Snapshot length, 0 = unlimited (pcapng). */
  snapLen: number;
  /** Section (0-based) that declared the interface; always 0 in pcap. */
  section: number;
  /** Interface id within its section (what the file itself says). */
  localId: number;
  name?: string;
  description?: string;
  /** Raw if_tsresol: 6 = µs, 9 = ns, 0x80|n = 2^-n s. pcap: 6 or 9. */
  tsResol: number;
  /** if_tsoffset in seconds, already added to the frames' tsSec. */
  tsOffsetSec: number;
  /** Bytes of FCS at the end of each frame, when the file says (if_fcslen, pcap FCS bits). */
  fcsLen?: number;
  /** Latest Interface Statistics Block seen for this interface. */
  stats?: InterfaceStats;
}

export interface CaptureReaderOptions {
  /** Size of the reused read buffer in bytes (default 4 MiB). */
  chunkSize?: number;
  /**
   * Largest caplen accepted; a bigger one is treated as damage
   * (default 262144, libpcap's and Wireshark's maximum snapshot length).
   */
  maxCaplen?: number;
  /**
   * Read the next chunk in the background while the current one is used
   * (regular files only). The caller then awaits `ready()` before `next()`;
   * results are the same either way.
   */
  readAhead?: boolean;
}

/** A streaming, synchronous reader of a capture file. */
export interface CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  /** Interfaces seen so far (pcapng keeps adding as blocks are read). */
  readonly interfaces: readonly CaptureInterface[];
  /** pcap: nanosecond magic; pcapng: some interface is finer than 1 µs. */
  readonly nanosecond: boolean;
  /**
   * Clears the batch and fills it with up to batch.capacity frames; returns
   * the count, 0 at the clean end of the file. `batch.buf` is replaced by the
   * reader's buffer; frame bytes stay valid until the next call. After the
   * last good frame before damage, the next call throws CaptureFileError.
   */
  next(batch: FrameBatch): number;
  /** With read-ahead: a promise to await before `next()`, or null when it can run now. */
  ready(): Promise<void> | null;
  /** File offset of the first byte not yet consumed. */
  readonly bytesRead: number;
  /** Closes the file if the reader opened it (a caller's fd stays open). */
  close(): void;
}

export const DEFAULT_MAX_CAPLEN = 262144;
