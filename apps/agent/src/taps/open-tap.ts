import { PcapFileTap } from './pcap-tap.js';
import type { Tap } from './tap.js';

/** Opens a capture source from its URI: `pcap:PATH`, or `pcap:PATH?loop` to replay it forever. */
export function openTap(uri: string): Tap {
  const colon = uri.indexOf(':');
  const kind = colon < 0 ? '' : uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (kind) {
    case 'pcap':
    case 'pcapng':
    case 'file': {
      const [path, query] = rest.split('?', 2);
      if (path === '') throw new Error(`--from ${uri}: missing file path (pcap:PATH)`);
      if (query !== undefined && query !== 'loop')
        throw new Error(`--from ${uri}: the only option is ?loop`);
      return new PcapFileTap(uri, path, { loop: query === 'loop' });
    }
    default:
      throw new Error(`--from ${uri}: unknown source; use pcap:PATH[?loop]`);
  }
}
