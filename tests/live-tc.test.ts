// tc offload (`--from tc:IFACE`): the mirror rules as tc clsact filters with
// mirred, on the tapped veth of a lab of our own. Copies never pass through
// user space; tcpdump in the collector namespace sees them. A SIGKILLed agent
// leaves its filters, and the next start removes them, and nothing else.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, tempDir } from './support/frames.js';
import { run, startMirror, waitForExit } from './support/run.js';
import type { Summary } from './support/run.js';
import { createTapLab, probeFrame, probeSeq, sendFromA, startTcpdump } from './support/tap-lab.js';
import type { TapLab } from './support/tap-lab.js';
import { until } from './support/until.js';

const N = 2000;

async function tc(args: string[]): Promise<string> {
  const r = await run('tc', args, { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`tc ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Filters on a clsact hook as `pref -> first action's cookie or '-'` (empty without a clsact). */
async function filters(dev: string, hook: 'ingress' | 'egress'): Promise<string[]> {
  const out = await run('tc', ['-j', 'filter', 'show', 'dev', dev, hook], { timeoutMs: 10_000 });
  if (out.code !== 0 || out.stdout.trim() === '') return [];
  return (
    JSON.parse(out.stdout) as { pref: number; options?: { actions?: { cookie?: string }[] } }[]
  )
    .filter((f) => f.options)
    .map((f) => `${f.pref}:${f.options!.actions?.[0]?.cookie ? 'netmirror' : 'foreign'}`);
}

async function links(): Promise<string[]> {
  const out = await run('ip', ['-j', 'link', 'show'], { timeoutMs: 10_000 });
  return (JSON.parse(out.stdout) as { ifname: string; ifalias?: string }[])
    .filter((l) => l.ifalias?.startsWith('netmirror:'))
    .map((l) => l.ifname);
}

describe('tc offload on a tapped veth', { timeout: 120_000 }, () => {
  let lab: TapLab;
  const tmp = tempDir('nm-live-tc-');

  beforeAll(async () => {
    lab = await createTapLab();
  }, 60_000);
  afterAll(async () => {
    await lab?.remove();
    tmp.remove();
  });

  const ours = async (): Promise<number> =>
    (await filters(lab.tapIf, 'ingress')).filter((f) => f.endsWith('netmirror')).length;

  it('mirrors every probe exactly once, byte for byte, raw and in VXLAN, and the summary counts them from tc', async () => {
    const probes = Array.from({ length: N }, (_, i) => probeFrame(i));
    const raw = join(tmp.dir, 'raw.pcap');
    const tunnel = join(tmp.dir, 'vxlan.pcap');
    const stats = join(tmp.dir, 'stats.json');
    const rawDump = await startTcpdump(lab.c, 'pr', raw);
    const tunnelDump = await startTcpdump(lab.c, 'pc', tunnel, ['udp port 4789']);
    const m = startMirror([
      '--from', `tc:${lab.tapIf}`,
      '--to', `iface:${lab.rawIf}`,
      '--to', `vxlan://${lab.collectorIp}?vni=77`,
      '--stats-json', stats,
    ]); // prettier-ignore
    try {
      await until('filters in place', async () => (await ours()) === 2, 15_000);
      expect(await sendFromA(lab, tmp.dir, probes)).toBe(N);
      await new Promise((r) => setTimeout(r, 1500)); // counters are read every second
    } finally {
      m.child.kill('SIGINT');
      expect(await waitForExit(m.child, 15_000), m.stderr()).toBe(0);
      expect(await rawDump.stop()).toEqual({ dropped: 0 });
      expect(await tunnelDump.stop()).toEqual({ dropped: 0 });
    }
    for (const file of [raw, tunnel]) {
      const counts = new Array<number>(N).fill(0);
      for (const f of readFrames(file)) {
        const seq = probeSeq(f.data);
        if (seq < 0) continue;
        counts[seq]++;
        const p = probes[seq];
        expect(f.data.subarray(f.data.length - p.length).equals(p), `${file}: probe ${seq}`).toBe(
          true,
        );
      }
      expect(counts.filter((c) => c !== 1).length, `${file}: probes not seen exactly once`).toBe(0);
    }
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Summary;
    // Every frame that crossed the link was copied (the probes, and whatever else the lab's bridge let by).
    expect(s.counters.read).toBeGreaterThanOrEqual(N);
    for (const d of s.destinations)
      expect(d, d.uri).toMatchObject({ sent: s.counters.read, failed: 0 });
    // Stopping removed the filters, the VXLAN device and the clsact it added.
    expect(await filters(lab.tapIf, 'ingress')).toEqual([]);
    expect(await links()).toEqual([]);
    expect(await tc(['qdisc', 'show', 'dev', lab.tapIf])).not.toMatch(/clsact/);
  });

  it('after SIGKILL the next start removes the stale mirror (and nothing else), and stopping leaves no trace', async () => {
    const rules = join(tmp.dir, 'rules.json');
    const ruleOn = (dstPort: number): void =>
      writeFileSync(
        rules,
        JSON.stringify({
          rules: [{ name: 'p', priority: 1, match: { protocol: 'udp', dstPort } }],
        }),
      );
    ruleOn(5000);
    const first = startMirror([
      '--from', `tc:${lab.tapIf}`, '--rules', rules,
      '--to', `iface:${lab.rawIf}`, '--to', `vxlan://${lab.collectorIp}?vni=78`,
    ]); // prettier-ignore
    await until('filters in place', async () => (await ours()) === 2, 15_000);
    // Someone else's filter on the same hook, mirroring elsewhere: it must survive us.
    await tc(['filter', 'add', 'dev', lab.tapIf, 'ingress', 'pref', '7', 'bpf', 'bytecode', '1,6 0 0 0', 'action', 'mirred', 'egress', 'mirror', 'dev', lab.tapIf]); // prettier-ignore
    first.child.kill('SIGKILL');
    await waitForExit(first.child, 10_000);
    expect(await ours(), 'a killed agent leaves its filters').toBe(2);
    expect((await links()).length, 'and its VXLAN device').toBe(1);

    // Started again with other rules: only port 5001 is mirrored, to the monitor port only.
    ruleOn(5001);
    const file = join(tmp.dir, 'after-kill.pcap');
    const dump = await startTcpdump(lab.c, 'pr', file);
    const second = startMirror([
      '--from',
      `tc:${lab.tapIf}`,
      '--rules',
      rules,
      '--to',
      `iface:${lab.rawIf}`,
    ]);
    try {
      await until(
        'the stale filters replaced',
        async () => (await ours()) === 1 && (await links()).length === 0,
        15_000,
      );
      expect(await filters(lab.tapIf, 'ingress')).toContain('7:foreign');
      const probes = Array.from({ length: 400 }, (_, i) => probeFrame(i, i % 2));
      expect(await sendFromA(lab, tmp.dir, probes)).toBe(400);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      second.child.kill('SIGINT');
      expect(await waitForExit(second.child, 15_000), second.stderr()).toBe(0);
      await dump.stop();
    }
    const seqs = readFrames(file)
      .map((f) => probeSeq(f.data))
      .filter((s) => s >= 0);
    expect(seqs.length).toBe(200);
    expect(
      seqs.every((s) => s % 2 === 1),
      'only the new rule mirrors',
    ).toBe(true);
    // Ours gone; the foreign filter (and so the clsact it sits on) kept.
    expect(await filters(lab.tapIf, 'ingress')).toEqual(['7:foreign']);
    expect(await filters(lab.tapIf, 'egress')).toEqual([]);
    expect(await links()).toEqual([]);
    await tc(['filter', 'del', 'dev', lab.tapIf, 'ingress', 'pref', '7']);
  });
});
