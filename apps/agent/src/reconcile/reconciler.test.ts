import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { MirrorSession } from '../pipeline/index.js';
import { RecorderSink } from '../sinks/index.js';
import { PcapFileTap } from '../taps/index.js';
import { Reconciler } from './reconciler.js';
import { StateStore } from './state-store.js';

function count(path: string): number {
  const r = openCaptureReader(path);
  const b = new FrameBatch(512);
  let n = 0;
  for (let k; (k = r.next(b)) > 0;) n += k;
  r.close();
  return n;
}

function policy(
  version: number,
  destinations: Record<string, string>,
  rules: unknown[] = [{ priority: 1, match: {} }],
) {
  return { version, hash: `sha256:v${version}`, spec: { destinations, rules } };
}

/** An agent's data path over a looping replay at 4,000 frames/s, with nothing applied yet. */
function agent(
  dir: string,
  input: string,
): { session: MirrorSession; reconciler: Reconciler; done: Promise<unknown> } {
  const session = new MirrorSession({
    tap: new PcapFileTap('pcap:loop', input, { loop: true }),
    ruleSet: { destinations: {}, rules: [] },
    sinks: new Map(),
    defaultSinks: [],
    pace: { pps: 4000 },
  });
  const done = session.run();
  return { session, reconciler: new Reconciler(session, new StateStore(join(dir, 'state'))), done };
}

describe('Reconciler', () => {
  let dir: string;
  let input: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-reconcile-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 1000, seed: 8 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies versions in order, refuses stale and broken ones, and keeps the previous state running', async () => {
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    const { session, reconciler, done } = agent(dir, input);
    expect(await reconciler.apply('policy', policy(1, { a: `pcap:${a}` }))).toEqual({
      status: 'applied',
      version: 1,
      hash: 'sha256:v1',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(await reconciler.apply('policy', policy(1, { b: `pcap:${b}` }))).toMatchObject({
      status: 'error',
      error: 'version 1 is not newer than the applied 1',
    });
    expect(
      await reconciler.apply(
        'policy',
        policy(2, { b: `pcap:${b}` }, [{ priority: 1, match: { port: 'http' } }]),
      ),
    ).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/match.port/),
    });
    expect(
      await reconciler.apply('policy', policy(3, { b: `pcap:/nonexistent-dir/b.pcap` })),
    ).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/ENOENT/),
    });
    expect(reconciler.applied.policy?.version).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(await reconciler.apply('policy', policy(4, { b: `pcap:${b}` }))).toMatchObject({
      status: 'applied',
      version: 4,
    });
    await new Promise((r) => setTimeout(r, 200));
    session.stop();
    await done;
    // v1's destination got the frames until v4 replaced it; v4's since.
    expect(count(a)).toBeGreaterThan(1000);
    expect(count(b)).toBeGreaterThan(400);
  });

  it('restores the applied state after a restart, retention included', async () => {
    const rec = join(dir, 'rec');
    const first = agent(dir, input);
    await first.reconciler.apply('policy', policy(7, { rec: `record:${rec}` }));
    await first.reconciler.apply('retention', {
      version: 2,
      hash: 'sha256:r2',
      spec: { fileBytes: 65536, maxTotalBytes: 300_000 },
    });
    first.session.stop();
    await first.done;

    const second = agent(dir, input); // a reboot: same state directory, fleet manager unreachable
    const restored = await second.reconciler.restore();
    expect(restored.map((r) => [r.status, r.version])).toEqual([
      ['applied', 7],
      ['applied', 2],
    ]);
    await new Promise((r) => setTimeout(r, 600));
    second.session.stop();
    await second.done;
    const files = new RecorderSink('x', 'record:x', rec).files();
    expect(files.length).toBeGreaterThan(2);
    // The restored retention is enforced: the total stays within the limit plus the file being written.
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(total).toBeLessThanOrEqual(300_000 + 65_536 + 2_000);
  });
});
