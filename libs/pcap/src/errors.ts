/**
 * A capture file is damaged, truncated or not a capture file at all.
 *
 * `offset` is the byte offset in the file of the record or block that could
 * not be read (0 for the file header); `reason` is the bare explanation. The
 * message combines both, e.g.
 * `pcap: record at byte 123456 claims caplen 4294967295 > 262144 (max)`.
 */
export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';
  readonly offset: number;
  readonly reason: string;

  constructor(offset: number, reason: string, message?: string) {
    super(message ?? `${reason} (at byte ${offset})`);
    this.offset = offset;
    this.reason = reason;
  }
}
