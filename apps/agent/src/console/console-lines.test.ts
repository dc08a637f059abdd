import { describe, expect, it } from 'vitest';
import { encodeLine, LineSplitter, MAX_LINE, parseLine } from './console-lines.js';
import { checkSettings } from './provisioning-settings.js';

describe('console lines', () => {
  it('a request is @JSON*CRC32 and reads back', () => {
    const line = encodeLine({ id: 1, cmd: 'show' });
    // crc32('{"id":1,"cmd":"show"}') as zlib computes it
    expect(line).toMatch(/^@\{"id":1,"cmd":"show"\}\*[0-9a-f]{8}\r\n$/);
    expect(parseLine(line)).toEqual({ value: { id: 1, cmd: 'show' } });
  });

  it('refuses garbled lines with the reason', () => {
    const line = encodeLine({ id: 2, cmd: 'factory-reset', confirm: 'tap-1' }).trim();
    expect(parseLine(line.replace('tap-1', 'tap-2'))).toEqual({
      error: 'garbled line (CRC mismatch)',
    });
    expect(parseLine('show')).toEqual({ error: 'not a console request line (@JSON*CRC32)' });
    expect(parseLine('@[1,2]*' + '0'.repeat(8))).toMatchObject({ error: expect.any(String) });
  });

  it('splits a byte stream into lines, whole UTF-8 characters, and drops overlong lines', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const text = Buffer.from('site Zürich\r\nnext\n');
    s.push(text.subarray(0, 7)); // splits "ü" between two reads
    s.push(text.subarray(7));
    s.push(Buffer.alloc(MAX_LINE + 10, 0x41));
    s.push(Buffer.from('AAAA\nafter\n'));
    expect(lines).toEqual(['site Zürich', 'next', 'after']);
  });
});

describe('provisioning settings', () => {
  it('accepts what a technician sets, normalised', () => {
    expect(
      checkSettings({
        name: 'tap-lon-03',
        site: 'London, rack 4',
        network: { address: '192.0.2.10/24', gateway: '192.0.2.1', dns: ['192.0.2.53'] },
        fleetUrl: 'https://fleet.example.net/',
        caFingerprint: 'ab'.padEnd(95, ':ab').slice(0, 95),
      }),
    ).toMatchObject({
      fleetUrl: 'https://fleet.example.net',
      caFingerprint: expect.stringMatching(/^AB:/),
    });
  });

  it('names the field at fault', () => {
    expect(() => checkSettings({ network: { address: '192.0.2.10' } })).toThrow(
      'settings.network.address: dhcp, or ADDRESS/PREFIX (192.0.2.10/24)',
    );
    expect(() => checkSettings({ name: 'a b' })).toThrow(/settings.name/);
    expect(() => checkSettings({ caFingerprint: 'AB:CD' })).toThrow(/settings.caFingerprint/);
    expect(() => checkSettings({ colour: 'blue' })).toThrow('settings.colour: unknown setting');
  });
});
