import type { CaptureReader, CaptureReaderOptions } from './capture-reader.js';
import { DEFAULT_MAX_CAPLEN } from './capture-reader.js';
import { ChunkedInput, DEFAULT_CHUNK_SIZE } from './chunked-input.js';
import { CaptureFileError } from './errors.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapReader } from './pcap-reader.js';
import { BT_SHB, PcapngReader } from './pcapng-reader.js';

/**
 * Opens a pcap or pcapng file (a path, or an fd read from its current
 * position), telling them apart by the magic number.
 */
export function openCaptureReader(
  pathOrFd: string | number,
  options: CaptureReaderOptions = {},
): CaptureReader {
  const maxCaplen = options.maxCaplen ?? DEFAULT_MAX_CAPLEN;
  // a whole maximal record always fits the buffer
  const chunk = Math.max(options.chunkSize ?? DEFAULT_CHUNK_SIZE, maxCaplen + 65536);
  const input = new ChunkedInput(pathOrFd, chunk, options.readAhead === true);
  try {
    if (!input.fill(4)) {
      throw new CaptureFileError(
        0,
        'empty',
        `capture: file too short for a magic number: ${input.end} of 4 bytes at byte 0`,
      );
    }
    const m = input.dv.getUint32(input.pos, true);
    const mb = input.dv.getUint32(input.pos, false);
    if (m === BT_SHB) return new PcapngReader(input, options);
    if (
      m === PCAP_MAGIC_US ||
      m === PCAP_MAGIC_NS ||
      mb === PCAP_MAGIC_US ||
      mb === PCAP_MAGIC_NS
    ) {
      return new PcapReader(input, options);
    }
    throw new CaptureFileError(
      0,
      'unknown magic',
      `capture: unknown magic 0x${mb.toString(16).padStart(8, '0')} at byte 0 (not pcap or pcapng)`,
    );
  } catch (e) {
    input.close();
    throw e;
  }
}
