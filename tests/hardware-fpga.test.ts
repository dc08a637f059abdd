// A hardware tap under the fleet manager: the agent daemon drives an
// emulated FPGA tap board (tools/board-emulator, a model behind a socat pty)
// from the policy the fleet manager pushes. For each policy version the
// board's mirrored output for a capture equals what the software pipeline
// (`netmirror mirror --from pcap:`) selects for the same rules and capture;
// a rule set the board cannot hold is reported as an error and the board
// keeps the rules in force.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import type { FleetManagerHandle } from '@netmirror/fleet-manager';
import { TopicTree } from '@netmirror/protocol';
import { startEnrolledAgent, type AgentProcess } from './support/agent-process.js';
import { startBoard, WEB_AND_DNS_TO_MON0, type BoardProcess } from './support/board.js';
import {
  deployPolicy,
  fleetApi,
  startEmbeddedFleetManager,
  type Json,
} from './support/fleet-api.js';
import { readFrames, tempDir } from './support/frames.js';
import { mirror } from './support/run.js';
import { until } from './support/until.js';

const BOARD = 'nm-tap-4x10g';

describe('an FPGA tap board programmed from the fleet manager', { timeout: 120_000 }, () => {
  let fm: FleetManagerHandle;
  let agent: AgentProcess;
  let board: BoardProcess;
  const tmp = tempDir('hw-fpga');
  const topics = new TopicTree(`nmtest/hw-${randomBytes(5).toString('hex')}/v1`);
  const id = `hw-${randomBytes(3).toString('hex')}`;
  const capture = tmp.path('mix.pcap');
  const boardOut = tmp.path('mon0.pcap');
  const api = fleetApi(() => fm.url);

  const policyState = async (): Promise<Json> =>
    (await api('GET', `/devices/${id}/state`)).domains.find((d: Json) => d.domain === 'policy');

  const deploy = (spec: Json): Promise<number> => deployPolicy(api, 'hw', { tier: 'hw' }, spec);

  /** Frames written to mon0 by the next feed of the capture (the output file only grows). */
  const feedBoard = async (): Promise<Buffer[]> => {
    const before = readFrames(boardOut).length;
    const answer = await board.command(`feed ${capture} p0`);
    expect(answer.fed).toMatchObject({ frames: 4000 });
    return readFrames(boardOut)
      .slice(before)
      .map((f) => f.data);
  };

  /** What the software pipeline copies for the same rules (to a pcap instead of board:mon0). */
  const softwareSelection = async (spec: Json, name: string): Promise<Buffer[]> => {
    const rules = tmp.path(`${name}.json`);
    writeFileSync(
      rules,
      JSON.stringify({ ...spec, destinations: { mon: `pcap:${tmp.path(`${name}.pcap`)}` } }),
    );
    const r = await mirror(
      ['--from', `pcap:${capture}`, '--rules', rules],
      tmp.path(`${name}.stats.json`),
    );
    expect(r.code, r.stderr).toBe(0);
    return readFrames(tmp.path(`${name}.pcap`)).map((f) => f.data);
  };

  beforeAll(async () => {
    writeCaptureFile({ path: capture, frames: 4000, seed: 33 });
    board = await startBoard({ board: BOARD, baud: 921600, out: [`mon0=pcap:${boardOut}`] });
    fm = await startEmbeddedFleetManager(tmp.path('fleet.db'), topics.root);
    agent = await startEnrolledAgent({
      api,
      fleetUrl: fm.url,
      dir: tmp.path('agent'),
      deviceId: id,
      labels: { tier: 'hw' },
      topicRoot: topics.root,
      taps: [`fpga:${board.hostPort}?board=${BOARD}&baud=921600`],
    });
  }, 60_000);
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      process.stderr.write(
        `--- agent stderr ---\n${agent?.stderr().slice(-3000)}\n--- board stderr ---\n${board?.stderr().slice(-2000)}\n`,
      );
  });
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await fm?.close();
    await board?.close();
    tmp.remove();
  });

  const V1 = WEB_AND_DNS_TO_MON0;
  const V2 = {
    destinations: { mon: 'board:mon0' },
    rules: [
      {
        name: 'ssh-and-mail',
        priority: 10,
        match: { protocol: 'tcp', dstPort: ['22', '25'] },
        destinations: ['mon'],
      },
      {
        name: 'vlans',
        priority: 20,
        match: { vlan: [20, 100] },
        transforms: { slice: 96 },
        destinations: ['mon'],
      },
      { name: 'arp', priority: 30, match: { protocol: 'arp' }, destinations: ['mon'] },
    ],
  };

  it('v1 and then v2: reported applied only once on the board, and the board copies what the software selects', async () => {
    let copies = 0;
    for (const [spec, name] of [
      [V1, 'v1'],
      [V2, 'v2'],
    ] as const) {
      const v = await deploy(spec);
      await until(`${name} applied`, async () => {
        const s = await policyState();
        return s.inSync && s.desired?.policyVersion === v && s.reported?.status === 'applied';
      });
      const expected = await softwareSelection(spec, name);
      expect(expected.length).toBeGreaterThan(100);
      const got = await feedBoard();
      expect(got.length).toBe(expected.length);
      const firstDiff = got.findIndex((f, i) => !f.equals(expected[i]));
      expect(firstDiff, `first differing copy of ${name}`).toBe(-1);
      copies += got.length;
    }
    // The board's counters reach the fleet manager's telemetry: ingress p0 saw both feeds,
    // and the destination "mon" (board:mon0) sent every copy.
    await until('telemetry with the board counters', async () => {
      const { items } = await api('GET', `/devices/${id}/telemetry`);
      const last: Json | undefined = items.at(-1);
      const p0 = last?.taps.find((t: Json) => t.name === 'p0');
      const mon = last?.destinations.find((d: Json) => d.name === 'mon');
      return p0?.packetsSeen === 8000 && mon?.packetsSent === copies;
    });
  });

  it('a rule set larger than the board table is refused with the numbers, and the board keeps v2', async () => {
    const huge = {
      destinations: { mon: 'board:mon0' },
      rules: [
        {
          name: 'many-nets',
          priority: 10,
          match: { src: Array.from({ length: 600 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) },
          destinations: ['mon'],
        },
      ],
    };
    const v = await deploy(huge);
    const s = await until(`v${v} refused`, async () => {
      const st = await policyState();
      return st.reported?.status === 'error' && st.desired?.policyVersion === v ? st : null;
    });
    expect(JSON.stringify(s.reported)).toContain(
      `the rules need 600 filter entries, the ${BOARD} board has 512`,
    );
    const expected = await softwareSelection(V2, 'v2-again');
    const got = await feedBoard();
    expect(got.length).toBe(expected.length);
    expect(got.every((f, i) => f.equals(expected[i]))).toBe(true);
  });
});
