/**
 * File output: the generator's frames written as nanosecond pcap (default)
 * or pcapng (one Ethernet interface, if_tsresol 9) through @netmirror/pcap.
 */
import { LinkType } from '@netmirror/packet';
import { PcapngWriter, PcapWriter } from '@netmirror/pcap';
import {
  checkOptions,
  generateCapture,
  type CaptureOptions,
  type CaptureStats,
} from './generate.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureFileOptions extends CaptureOptions {
  /** Output path (created or truncated). */
  path: string;
  /** Default 'pcap' (nanosecond magic a1b23c4d). */
  format?: CaptureFormat;
}

/** Generates a capture into a file; returns what was written. */
export function writeCaptureFile(options: CaptureFileOptions): CaptureStats {
  const format = options.format ?? 'pcap';
  checkOptions(options); // before creating the file
  if (format === 'pcap') {
    const w = new PcapWriter(options.path, {
      linkType: LinkType.ETHERNET,
      nanosecond: true,
      snapLen: 262144,
    });
    try {
      return generateCapture(options, (buf, off, len, sec, nsec) =>
        w.writeFrame(buf, off, len, len, sec, nsec),
      );
    } finally {
      w.close();
    }
  }
  if (format !== 'pcapng') throw new RangeError(`capgen: unknown format ${String(format)}`);
  const w = new PcapngWriter(options.path, {
    interfaces: [
      {
        linkType: LinkType.ETHERNET,
        tsResol: 9,
        name: 'capgen0',
        description: `capgen seed ${options.seed}`,
      },
    ],
  });
  try {
    return generateCapture(options, (buf, off, len, sec, nsec) =>
      w.writeFrame(0, buf, off, len, len, sec, nsec),
    );
  } finally {
    w.close();
  }
}
