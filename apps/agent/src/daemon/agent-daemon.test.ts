import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { StateStore } from '../reconcile/index.js';
import { AgentDaemon } from './agent-daemon.js';
import { checkAgentConfig } from './config.js';

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  if (!line) throw new Error(`no ${name}${labels} in:\n${text}`);
  return Number(line.split(' ')[1]);
}

describe('AgentDaemon', () => {
  let dir: string;
  let input: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-daemon-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 500, seed: 12 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('mirrors by the last applied state before any fleet manager answers, and serves health and metrics', async () => {
    const stateDir = join(dir, 'state');
    const out = join(dir, 'out.pcap');
    new StateStore(stateDir).save({
      policy: {
        version: 3,
        hash: 'sha256:x',
        spec: {
          destinations: { out: `pcap:${out}` },
          rules: [{ priority: 1, match: { protocol: 'tcp' } }],
        },
      },
    });
    const daemon = await AgentDaemon.start(
      checkAgentConfig({ stateDir, tap: { uri: `pcap:${input}?loop`, pps: 5000 }, httpPort: 0 }),
    );
    try {
      const base = `http://127.0.0.1:${daemon.httpPort}`;
      const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({
        ok: true,
        controlConnected: false,
        applied: { policy: { version: 3, hash: 'sha256:x' } },
      });
      await new Promise((r) => setTimeout(r, 300));
      const first = await (await fetch(`${base}/metrics`)).text();
      await new Promise((r) => setTimeout(r, 300));
      const second = await (await fetch(`${base}/metrics`)).text();
      expect(metric(second, 'netmirror_frames_read_total')).toBeGreaterThan(
        metric(first, 'netmirror_frames_read_total'),
      );
      expect(metric(second, 'netmirror_applied_version', '{domain="policy"}')).toBe(3);
      expect(
        metric(second, 'netmirror_destination_sent_total', '{destination="out"}'),
      ).toBeGreaterThan(0);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      const summary = await daemon.stop();
      expect(summary.destinations[0]).toMatchObject({ name: 'out', dropped: 0, failed: 0 });
    }
  });

  it('names the field of a bad configuration', () => {
    expect(() => checkAgentConfig({ stateDir: '/x', tap: { uri: 'pcap:x', pps: -1 } })).toThrow(
      'config: tap.pps: expected a rate > 0',
    );
    expect(() => checkAgentConfig({ tap: { uri: 'pcap:x' } })).toThrow('config: stateDir');
    expect(() => checkAgentConfig({ stateDir: '/x', tap: { uri: 'pcap:x' }, colour: 1 })).toThrow(
      'config: colour: unknown field',
    );
  });
});
