import { describe, expect, it } from 'vitest';
import { openSink } from './open-sink.js';
import { Erspan3Sink, GreSink, PcapngSink, PcapSink, TzspSink, VxlanSink } from './index.js';

describe('openSink', () => {
  it('knows every destination kind', () => {
    expect(openSink('a', 'pcap:/tmp/x.pcap')).toBeInstanceOf(PcapSink);
    expect(openSink('a', 'pcapng:out.pcapng')).toBeInstanceOf(PcapngSink);
    expect(openSink('a', 'vxlan://127.0.0.1:4789?vni=7')).toBeInstanceOf(VxlanSink);
    expect(openSink('a', 'vxlan://[::1]?vni=7&mtu=1500')).toBeInstanceOf(VxlanSink);
    expect(openSink('a', 'gre://127.0.0.1?key=9')).toBeInstanceOf(GreSink);
    expect(openSink('a', 'erspan3://127.0.0.1?session=1023')).toBeInstanceOf(Erspan3Sink);
    expect(openSink('a', 'tzsp://127.0.0.1:37008')).toBeInstanceOf(TzspSink);
  });

  it.each([
    ['ftp://127.0.0.1', /unknown kind "ftp"/],
    ['vxlan://127.0.0.1?vni=16777216', /vni=16777216 must be an integer 0-16777215/],
    ['vxlan://127.0.0.1?vni=1&colour=red', /unknown parameter "colour"/],
    ['erspan2://127.0.0.1', /needs session=N \(0-1023\)/],
    ['erspan2://127.0.0.1?session=1024', /session=1024 must be an integer 0-1023/],
    ['gre://127.0.0.1:47', /takes no port/],
    ['gre://127.0.0.1?key=-1', /key=-1 must be an integer/],
    ['tzsp://127.0.0.1?mtu=100', /mtu=100 must be an integer 576-65535/],
    ['nonsense', /not a destination URI/],
  ])('rejects %s', (uri, reason) => {
    expect(() => openSink('a', uri)).toThrow(reason);
  });
});
