/**
 * The machine lines of the provisioning console: `@` + JSON + `*` + the
 * CRC-32 of the JSON (8 hex digits) + CRLF. A serial console is noisy and
 * shared with people typing: the marker and the CRC let each side tell a
 * request or an answer from garbage, which is refused and changes nothing.
 */
import { StringDecoder } from 'node:string_decoder';
import { crc32 } from 'node:zlib';

/** Longest line either side accepts; anything longer is garbage. */
export const MAX_LINE = 16384;

export type JsonObject = Record<string, unknown>;

export function encodeLine(value: JsonObject): string {
  const json = JSON.stringify(value);
  return `@${json}*${crc32(json).toString(16).padStart(8, '0')}\r\n`;
}

/** The object on a machine line, or why it is not one. */
export function parseLine(line: string): { value: JsonObject } | { error: string } {
  const m = /^@(.*)\*([0-9a-f]{8})$/.exec(line.trim());
  if (!m) return { error: 'not a console request line (@JSON*CRC32)' };
  if (crc32(m[1]).toString(16).padStart(8, '0') !== m[2])
    return { error: 'garbled line (CRC mismatch)' };
  try {
    const value: unknown = JSON.parse(m[1]);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { error: 'expected a JSON object' };
    return { value: value as JsonObject };
  } catch {
    return { error: 'garbled line (not JSON)' };
  }
}

/**
 * Splits a byte stream into lines (LF or CRLF), dropping any line longer
 * than MAX_LINE up to its end. UTF-8 (a character split between two reads
 * is kept whole; invalid bytes become U+FFFD, never an exception).
 */
export class LineSplitter {
  private pending = '';
  private discarding = false;
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let text = this.pending + this.decoder.write(chunk);
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      const line = text.slice(0, nl).replace(/\r$/, '');
      if (!this.discarding) this.onLine(line);
      this.discarding = false;
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    if (text.length > MAX_LINE) {
      this.discarding = true;
      text = '';
    }
    this.pending = text;
  }
}
