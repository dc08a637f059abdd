import { describe, expect, it } from 'vitest';
import { parseTopic, sharedFilter, TopicTree, topics } from './topics.js';

describe('topic tree', () => {
  it('builds every topic of a device', () => {
    expect(topics.desired('tap-01', 'policy')).toBe('netmirror/v1/tap-01/desired/policy');
    expect(topics.keys('tap-01')).toBe('netmirror/v1/tap-01/keys');
    expect(topics.reported('tap-01', 'keys')).toBe('netmirror/v1/tap-01/reported/keys');
    expect(topics.status('tap-01')).toBe('netmirror/v1/tap-01/status');
    expect(topics.telemetry('tap-01')).toBe('netmirror/v1/tap-01/telemetry');
    expect(topics.alerts('tap-01')).toBe('netmirror/v1/tap-01/alerts');
    expect(topics.command('tap-01', 'capture.stats')).toBe('netmirror/v1/tap-01/cmd/capture.stats');
    expect(topics.response('tap-01', 'fm-1')).toBe('netmirror/v1/tap-01/response/fm-1');
  });

  it('builds wildcard filters for both sides', () => {
    expect(topics.deviceInboxFilters('a')).toEqual([
      'netmirror/v1/a/desired/+',
      'netmirror/v1/a/keys',
    ]);
    expect(topics.deviceCommandFilter('a')).toBe('netmirror/v1/a/cmd/+');
    expect(topics.fleetFilter('reported')).toBe('netmirror/v1/+/reported/+');
    expect(topics.fleetFilter('status')).toBe('netmirror/v1/+/status');
    expect(topics.responseFilter('fm-1')).toBe('netmirror/v1/+/response/fm-1');
    expect(sharedFilter('fleet', topics.fleetFilter('telemetry'))).toBe(
      '$share/fleet/netmirror/v1/+/telemetry',
    );
  });

  it('parses what it builds', () => {
    expect(parseTopic('netmirror/v1/tap-01/desired/retention')).toEqual({
      deviceId: 'tap-01',
      kind: 'desired',
      domain: 'retention',
    });
    expect(parseTopic('netmirror/v1/tap-01/reported/keys')).toEqual({
      deviceId: 'tap-01',
      kind: 'reported',
      domain: 'keys',
    });
    expect(parseTopic('netmirror/v1/x.y_z/status')).toEqual({ deviceId: 'x.y_z', kind: 'status' });
    expect(parseTopic('netmirror/v1/a/cmd/reboot')).toEqual({
      deviceId: 'a',
      kind: 'cmd',
      name: 'reboot',
    });
    expect(parseTopic('netmirror/v1/a/response/fm-1')).toEqual({
      deviceId: 'a',
      kind: 'response',
      requester: 'fm-1',
    });
  });

  it.each([
    'netmirror/v1/a/desired/keys', // keys have their own topic
    'netmirror/v1/a/desired',
    'netmirror/v1/a/status/extra',
    'netmirror/v1/a/unknown',
    'netmirror/v1/+/status',
    'netmirror/v1//status',
    'netmirror/v2/a/status',
    'other/v1/a/status',
    `netmirror/v1/${'x'.repeat(65)}/status`,
    'netmirror/v1/a b/status',
  ])('rejects %s', (t) => {
    expect(parseTopic(t)).toBeNull();
  });

  it('refuses ids that would change the topic shape', () => {
    for (const bad of ['', 'a/b', '+', '#', 'a+', '$SYS', 'x'.repeat(65), 'tap 1']) {
      expect(() => topics.status(bad)).toThrow(/invalid device id/);
    }
    expect(() => topics.command('a', 'x/y')).toThrow(/invalid command name/);
    expect(() => new TopicTree('a/+/b')).toThrow(/invalid topic root/);
    expect(() => new TopicTree('$share/x')).toThrow(/invalid topic root/);
  });

  it('works under another root', () => {
    const t = new TopicTree('test/run-1/v1');
    expect(t.parse(t.keys('d1'))).toEqual({ deviceId: 'd1', kind: 'keys' });
    expect(t.parse(topics.keys('d1'))).toBeNull();
  });
});
