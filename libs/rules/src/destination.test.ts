import { describe, expect, it } from 'vitest';
import { parseDestination } from './destination.js';
import { parseRuleSet, RuleSetError } from './validate.js';

describe('parseDestination', () => {
  it('knows every destination kind, with defaults', () => {
    expect(parseDestination('pcap:/tmp/x.pcap')).toEqual({ kind: 'pcap', path: '/tmp/x.pcap' });
    expect(parseDestination('pcapng:out.pcapng')).toEqual({ kind: 'pcapng', path: 'out.pcapng' });
    expect(parseDestination('record:/r?fileBytes=65536&maxTotalBytes=9')).toEqual({
      kind: 'record',
      dir: '/r',
      fileBytes: 65536,
      fileSeconds: 0,
      maxAgeSeconds: 0,
      maxTotalBytes: 9,
    });
    expect(parseDestination('vxlan://127.0.0.1?vni=7')).toMatchObject({
      kind: 'vxlan',
      host: '127.0.0.1',
      port: 4789,
      vni: 7,
      mtu: 0,
    });
    expect(parseDestination('vxlan://[::1]:8472?vni=7&mtu=1500')).toMatchObject({
      host: '::1',
      port: 8472,
      mtu: 1500,
    });
    expect(parseDestination('gre://127.0.0.1?key=9')).toMatchObject({ kind: 'gre', key: 9 });
    expect(parseDestination('gre://127.0.0.1')).toMatchObject({ kind: 'gre', key: undefined });
    expect(parseDestination('erspan3://127.0.0.1?session=1023')).toMatchObject({
      kind: 'erspan3',
      session: 1023,
    });
    expect(parseDestination('tzsp://127.0.0.1')).toMatchObject({
      kind: 'tzsp',
      port: 37008,
      queueBytes: 16 << 20,
    });
  });

  it('a rules file names the destination whose URI is wrong', () => {
    try {
      parseRuleSet('destinations: { ids: "vxlan://h?vni=x" }\nrules: []');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(RuleSetError);
      expect((err as RuleSetError).errors[0]).toMatchObject({
        where: 'destinations.ids',
        message: expect.stringMatching(/vni=x must be/),
      });
    }
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
    ['record:/r?fileBytes=10', /fileBytes=10 must be an integer 65536-/],
  ])('rejects %s', (uri, reason) => {
    expect(() => parseDestination(uri)).toThrow(reason);
  });
});
