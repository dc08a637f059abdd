import { describe, expect, it } from 'vitest';
import { FleetApiError } from '@netmirror/fleet-client';
import type {
  DomainState,
  FirmwareUpdate,
  Rollout,
  TelemetrySample,
} from '@netmirror/fleet-client';
import {
  apiErrorLine,
  bytes,
  driftTable,
  firmwareUpdateLine,
  labelList,
  progressLine,
  rolloutDetails,
  shortHash,
  stateTable,
  table,
  telemetryTable,
  when,
} from './fleet-format.js';

const HASH_A = 'sha256:' + 'a'.repeat(64);
const HASH_B = 'sha256:' + 'b'.repeat(64);

describe('fleet output', () => {
  it('tables: columns as wide as their widest cell, two spaces apart, no trailing blanks', () => {
    expect(
      table(
        ['ID', 'NAME', 'LABELS'],
        [
          ['tap-01', 'Edge tap', 'role=core'],
          ['t2', 'x', ''],
        ],
      ),
    ).toBe(
      'ID      NAME      LABELS\n' + //
        'tap-01  Edge tap  role=core\n' +
        't2      x\n',
    );
  });

  it('dates to the second, labels, hashes, bytes', () => {
    expect(when('2025-07-01T12:00:05.123Z')).toBe('2025-07-01 12:00:05Z');
    expect(when(null)).toBe('-');
    expect(labelList({ role: 'core', rack: 'r12' })).toBe('role=core,rack=r12');
    expect(labelList({})).toBe('-');
    expect(shortHash(HASH_A)).toBe('sha256:aaaaaaaaaaaa');
    expect(shortHash(null)).toBe('-');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });

  it("API errors: the status, then the server's field and message, the field not said twice", () => {
    const err = (field: string | null, message: string): FleetApiError =>
      new FleetApiError(400, 'Bad Request', message, field, 'POST', '/x', {});
    expect(apiErrorLine(err('ttlSeconds', 'ttlSeconds: must be an integer'))).toBe(
      'HTTP 400 Bad Request: ttlSeconds: must be an integer',
    );
    expect(apiErrorLine(err('spec.filter', 'syntax error'))).toBe(
      'HTTP 400 Bad Request: spec.filter: syntax error',
    );
    expect(
      apiErrorLine(
        new FleetApiError(404, 'Not Found', 'device "x" not found', null, 'GET', '/devices/x', {}),
      ),
    ).toBe('HTTP 404 Not Found: device "x" not found');
  });

  it('device state: desired vs reported per domain with IN SYNC / DRIFT, errors below', () => {
    const domains: DomainState[] = [
      {
        domain: 'policy',
        desired: {
          version: 3,
          hash: HASH_A,
          policy: 'core-web',
          policyVersion: 2,
          publishedAt: '2025-07-01T12:00:00.000Z',
        },
        reported: {
          version: 3,
          hash: HASH_A,
          status: 'applied',
          error: null,
          rejectedVersion: null,
          at: '2025-07-01T12:00:01.000Z',
        },
        inSync: true,
      },
      {
        domain: 'retention',
        desired: {
          version: 2,
          hash: HASH_B,
          policy: 'keep',
          policyVersion: 1,
          publishedAt: '2025-07-01T12:00:00.000Z',
        },
        reported: {
          version: 1,
          hash: HASH_A,
          status: 'error',
          error: 'cannot write /rec',
          rejectedVersion: 2,
          at: '2025-07-01T12:00:01.000Z',
        },
        inSync: false,
      },
      { domain: 'keys', desired: null, reported: null, inSync: true },
    ];
    expect(stateTable('tap-01', true, '2025-07-01T12:00:02.000Z', domains)).toBe(
      'tap-01  online  last seen 2025-07-01 12:00:02Z\n' +
        'DOMAIN     DESIRED                            REPORTED                        SYNC\n' +
        'policy     v3 core-web@2 sha256:aaaaaaaaaaaa  v3 applied sha256:aaaaaaaaaaaa  IN SYNC\n' +
        'retention  v2 keep@1 sha256:bbbbbbbbbbbb      v1 error (rejected v2)          DRIFT\n' +
        'keys       -                                  -                               IN SYNC\n' +
        'retention: cannot write /rec\n',
    );
    expect(driftTable([])).toBe('no drift: every device is in sync\n');
    expect(driftTable([{ ...domains[1], deviceId: 'tap-02' }])).toContain(
      'tap-02 retention: cannot write /rec\n',
    );
  });

  it('rollouts: progress counts devices per outcome and stages started', () => {
    const r: Rollout = {
      id: 'r1',
      policy: 'core-web',
      domain: 'policy',
      version: 2,
      previousVersion: 1,
      status: 'running',
      reason: null,
      strategy: { canary: 1, waves: [50, 100], maxFailuresPerStage: 0, successRatio: 1 },
      stages: [
        { index: 0, devices: [{ deviceId: 'a', outcome: 'applied', error: null }] },
        {
          index: 1,
          devices: [
            { deviceId: 'b', outcome: 'pending', error: null },
            { deviceId: 'c', outcome: 'error', error: 'bad filter' },
          ],
        },
        { index: 2, devices: [{ deviceId: 'd', outcome: 'waiting', error: null }] },
      ],
      createdBy: 'operator:alice',
      createdAt: '2025-07-01T12:00:00.000Z',
      updatedAt: '2025-07-01T12:00:03.000Z',
    };
    expect(progressLine(r)).toBe('running  stage 2/3  applied 1/4  errors 1');
    const text = rolloutDetails(r);
    expect(text).toContain('core-web v2 (was v1), policy domain');
    expect(text).toContain('canary 1, waves 50/100 %, at most 0 failures per stage');
    expect(text).toMatch(/^1 +c +error +bad filter$/m);
    expect(text).toMatch(/^2 +d +waiting$/m);
  });

  it('telemetry: one row per sample, taps and destinations summed', () => {
    const t: TelemetrySample = {
      at: '2025-07-01T12:00:00.000Z',
      receivedAt: '2025-07-01T12:00:00.100Z',
      taps: [
        { name: 'eth0', packetsSeen: 100, bytesSeen: 6400, packetsDropped: 1 },
        { name: 'eth1', packetsSeen: 50, bytesSeen: 3200, packetsDropped: 0 },
      ],
      destinations: [
        { name: 'ids', packetsSent: 90, bytesSent: 2048, packetsDropped: 2, queueDepth: 3 },
      ],
      cpuPercent: 12.34,
      memoryBytes: 64 * 1024 * 1024,
    };
    expect(telemetryTable([t])).toBe(
      'AT                    CPU    MEMORY    SEEN  TAP DROPS  SENT  SENT BYTES  DEST DROPS  QUEUE\n' +
        '2025-07-01 12:00:00Z  12.3%  64.0 MiB  150   1          90    2.0 KiB     2           3\n',
    );
    expect(telemetryTable([])).toBe('no telemetry in that window\n');
  });

  it('a firmware update in one line: the phase, its bytes while there are some, the message', () => {
    const u: FirmwareUpdate = {
      id: 'u-1',
      deviceId: 'tap-01',
      imageId: 'i-1',
      version: '1.2.0',
      status: 'running',
      phase: 'upload',
      bytes: 49_152,
      total: 160_128,
      message: null,
      previousVersion: null,
      runningVersion: null,
      resumedAt: null,
      expiresAt: '2025-07-01T12:01:00.000Z',
      createdBy: 'operator:alice',
      createdAt: '2025-07-01T12:00:00.000Z',
      startedAt: '2025-07-01T12:00:01.000Z',
      updatedAt: '2025-07-01T12:00:02.000Z',
      finishedAt: null,
    };
    expect(firmwareUpdateLine(u)).toBe('running  upload 48.0 KiB/156.4 KiB (30 %)');
    expect(
      firmwareUpdateLine({
        ...u,
        status: 'installed',
        phase: 'done',
        message: 'firmware 1.2.0 installed and confirmed',
      }),
    ).toBe('installed  done  firmware 1.2.0 installed and confirmed');
  });
});
