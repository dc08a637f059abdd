import { describe, expect, it } from 'vitest';
import { checkAgentConfig } from './config.js';

const base = { stateDir: '/var/lib/netmirror', tap: { uri: 'pcap:x' } };
const pin = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(':');

describe('agent configuration: fleet', () => {
  it('takes the fleet URL, token and CA pin, the pin in one spelling', () => {
    const config = checkAgentConfig({
      ...base,
      fleet: {
        url: 'https://fleet.example:8443/api',
        enrollmentToken: 'nmt_x',
        caFingerprint: pin,
      },
    });
    expect(config.fleet).toEqual({
      url: 'https://fleet.example:8443/api',
      enrollmentToken: 'nmt_x',
      caFingerprint: pin.toUpperCase(),
    });
  });

  it('names the fleet field at fault', () => {
    const bad =
      (fleet: unknown): (() => unknown) =>
      () =>
        checkAgentConfig({ ...base, fleet });
    expect(bad({ url: 'ftp://x' })).toThrow('config: fleet.url: expected the fleet manager URL');
    expect(bad({ url: 'http://x', enrollmentToken: 5 })).toThrow(
      'config: fleet.enrollmentToken: expected a string',
    );
    expect(bad({ url: 'http://x', caFingerprint: 'AB:CD' })).toThrow(
      'config: fleet.caFingerprint: expected a SHA-256 fingerprint',
    );
    expect(bad({ url: 'http://x', caFingerprint: pin.replaceAll(':', '') })).toThrow(
      'config: fleet.caFingerprint',
    );
    expect(bad({ url: 'http://x', token: 'nmt_x' })).toThrow('config: fleet.token: unknown field');
  });
});
