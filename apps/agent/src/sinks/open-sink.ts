import { parseDestination } from '@netmirror/rules';
import { Erspan2Sink, Erspan3Sink, GreSink } from './gre-sink.js';
import { BoardPortSink } from './board-port-sink.js';
import { IfaceSink } from './iface-sink.js';
import { PcapSink } from './pcap-sink.js';
import { PcapngSink } from './pcapng-sink.js';
import { RecorderSink } from './recorder-sink.js';
import type { Sink } from './sink.js';
import { TzspSink } from './tzsp-sink.js';
import { VxlanSink } from './vxlan-sink.js';

/** Creates (but does not open) the destination a URI names; see `parseDestination` for the grammar. */
export function openSink(name: string, uri: string): Sink {
  const d = parseDestination(uri);
  switch (d.kind) {
    case 'pcap':
      return new PcapSink(name, uri, d.path);
    case 'pcapng':
      return new PcapngSink(name, uri, d.path);
    case 'record':
      return new RecorderSink(name, uri, d.dir, {
        fileBytes: d.fileBytes,
        fileSeconds: d.fileSeconds,
        maxAgeSeconds: d.maxAgeSeconds,
        maxTotalBytes: d.maxTotalBytes,
      });
    case 'vxlan':
      return new VxlanSink(name, uri, { host: d.host, port: d.port }, d);
    case 'tzsp':
      return new TzspSink(name, uri, { host: d.host, port: d.port }, d);
    case 'gre':
      return new GreSink(name, uri, d.host, d.key, d);
    case 'erspan2':
      return new Erspan2Sink(name, uri, d.host, d.session, d);
    case 'erspan3':
      return new Erspan3Sink(name, uri, d.host, d.session, d);
    case 'iface':
      return new IfaceSink(name, uri, d.ifname, d);
    case 'board':
      return new BoardPortSink(name, uri, d.port);
  }
}
