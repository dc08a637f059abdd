import { PcapFileTap } from './pcap-tap.js';
import type { Tap } from './tap.js';

/** Opens a capture source from its URI (`pcap:PATH`). */
export function openTap(uri: string): Tap {
  const colon = uri.indexOf(':');
  const kind = colon < 0 ? '' : uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (kind) {
    case 'pcap':
    case 'pcapng':
    case 'file':
      if (rest === '') throw new Error(`--from ${uri}: missing file path (pcap:PATH)`);
      return new PcapFileTap(uri, rest);
    default:
      throw new Error(`--from ${uri}: unknown source; use pcap:PATH`);
  }
}
