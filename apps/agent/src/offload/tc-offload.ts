import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRulesBpf, parseDestination } from '@netmirror/rules';
import type { MirrorRule, RuleSet } from '@netmirror/rules';
import { makeDirectory } from '../files/make-directory.js';
import type { Hook } from './tc-commands.js';
import { hasClsact, linksWithAlias, listFilters, runTool, tcBytecode } from './tc-commands.js';

/** Where the kernel sends one destination's copies. */
interface KernelTarget {
  name: string;
  uri: string;
  /** The device mirred sends to: the monitor port, or a VXLAN device made here. */
  dev: string;
  /** A VXLAN device this agent creates (and removes). */
  vxlan?: { vni: number; remote: string; port: number };
}

/** Copies the kernel made per destination, and the ones it failed to send. */
export interface OffloadCounters {
  destinations: { name: string; uri: string; sent: number; bytes: number; failed: number }[];
}

/** Filter preferences this agent uses, one per destination (and hook). */
const FIRST_PREF = 0xc000;
const MAX_DESTINATIONS = 256;
/** Accept value of the compiled programs: for cls_bpf any non-zero return is a match. */
const MATCH = 0xffffffff;

/**
 * Mirror rules as tc clsact filters on one interface: per destination, one
 * cls_bpf filter on ingress and one on egress (both directions of the
 * tapped link) running the rules compiled to classic BPF, with `action
 * mirred egress mirror` to the monitor port or to a VXLAN device made for
 * the destination. Copies never reach user space.
 *
 * Everything made here is marked: each action carries a cookie naming the
 * tapped interface, each VXLAN device an alias. `clean()` removes exactly
 * what carries the marks (also what a killed agent left behind), and the
 * clsact qdisc only when this agent added it and nothing else uses it.
 */
export class TcOffload {
  private readonly cookie: string;
  private readonly alias: string;
  private targets = new Map<string, KernelTarget>();

  /**
   * `markerDir` keeps a note that this agent added the clsact qdisc (a
   * tmpfs under /run: a reboot clears it and the qdisc alike), so an agent
   * started after a crash knows the qdisc is its own to remove.
   */
  constructor(
    readonly ifname: string,
    private readonly markerDir = '/run/netmirror/tc',
  ) {
    // tc cookies are hex, up to 16 bytes: "nm" + a hash of the interface name.
    this.cookie = `6e6d${createHash('sha256').update(ifname).digest('hex').slice(0, 28)}`;
    this.alias = `netmirror:tc:${ifname}`;
  }

  /** Removes every filter and device carrying this interface's marks; the clsact too if it is then unused and ours. */
  async clean(): Promise<void> {
    if (await hasClsact(this.ifname)) {
      for (const hook of ['ingress', 'egress'] as const) {
        for (const f of await listFilters(this.ifname, hook)) {
          if (f.actions.some((a) => a.cookie === this.cookie))
            await runTool('tc', ['filter', 'del', 'dev', this.ifname, hook, 'pref', `${f.pref}`]);
        }
      }
      const left =
        (await listFilters(this.ifname, 'ingress')).length +
        (await listFilters(this.ifname, 'egress')).length;
      if (left === 0 && this.ownsClsact()) {
        await runTool('tc', ['qdisc', 'del', 'dev', this.ifname, 'clsact']);
        rmSync(this.marker, { force: true });
      }
    } else {
      rmSync(this.marker, { force: true }); // the qdisc is gone (removed by hand, or the link was remade)
    }
    for (const dev of await linksWithAlias(this.alias)) await runTool('ip', ['link', 'del', dev]);
    this.targets.clear();
  }

  /**
   * Puts `ruleSet` in force: new destinations' devices first, then each
   * destination's filters replaced in place (the kernel swaps a filter in
   * one step, so each copy follows either the old rules or the new ones),
   * then what is no longer used removed. Throws, changing nothing, for what
   * the kernel cannot do here.
   */
  async apply(
    ruleSet: RuleSet,
    destinations: ReadonlyMap<string, string>,
    defaults: readonly string[],
  ): Promise<void> {
    const wanted = this.plan(ruleSet, destinations);
    const programs = new Map<string, string>();
    for (const t of wanted.values()) {
      const picks = (r: MirrorRule): boolean =>
        r.action === 'mirror' &&
        (r.destinations.length === 0 ? defaults.includes(t.name) : r.destinations.includes(t.name));
      programs.set(
        t.name,
        tcBytecode(compileRulesBpf(ruleSet.rules, picks, { vlanInMetadata: true, snapLen: MATCH })),
      );
    }
    if (!(await hasClsact(this.ifname))) {
      makeDirectory(this.markerDir);
      writeFileSync(this.marker, this.ifindex());
      await runTool('tc', ['qdisc', 'add', 'dev', this.ifname, 'clsact']);
    }
    for (const t of wanted.values())
      if (t.vxlan && !this.targets.has(t.name)) await this.createVxlan(t);
    const names = [...wanted.keys()];
    for (const [i, name] of names.entries()) {
      const t = wanted.get(name)!;
      for (const hook of ['ingress', 'egress'] as Hook[])
        await runTool('tc', [
          'filter', 'replace', 'dev', this.ifname, hook, 'pref', `${FIRST_PREF + i}`, 'handle', '1',
          'bpf', 'bytecode', programs.get(name)!,
          'action', 'mirred', 'egress', 'mirror', 'dev', t.dev, 'continue', 'cookie', this.cookie,
        ]); // prettier-ignore
    }
    // Filters beyond the new count, and devices no longer used.
    for (const hook of ['ingress', 'egress'] as Hook[])
      for (const f of await listFilters(this.ifname, hook))
        if (f.actions.some((a) => a.cookie === this.cookie) && f.pref >= FIRST_PREF + names.length)
          await runTool('tc', ['filter', 'del', 'dev', this.ifname, hook, 'pref', `${f.pref}`]);
    for (const [name, t] of this.targets)
      if (t.vxlan && wanted.get(name)?.dev !== t.dev) await runTool('ip', ['link', 'del', t.dev]);
    this.targets = wanted;
  }

  /** Copies per destination, summed over both hooks (tc's action counters). */
  async counters(): Promise<OffloadCounters> {
    const byDev = new Map<string, { sent: number; bytes: number; failed: number }>();
    for (const hook of ['ingress', 'egress'] as Hook[]) {
      for (const f of await listFilters(this.ifname, hook)) {
        for (const a of f.actions) {
          if (a.cookie !== this.cookie || !a.to_dev || !a.stats) continue;
          const c = byDev.get(a.to_dev) ?? { sent: 0, bytes: 0, failed: 0 };
          // mirred counts every copy it made in packets, and the ones it could not send in overlimits/drops.
          c.failed += a.stats.overlimits + a.stats.drops;
          c.sent += a.stats.packets - a.stats.overlimits - a.stats.drops;
          c.bytes += a.stats.bytes;
          byDev.set(a.to_dev, c);
        }
      }
    }
    return {
      destinations: [...this.targets.values()].map((t) => ({
        name: t.name,
        uri: t.uri,
        ...(byDev.get(t.dev) ?? { sent: 0, bytes: 0, failed: 0 }),
      })),
    };
  }

  private get marker(): string {
    return join(this.markerDir, `${this.ifname}.clsact`);
  }

  private ifindex(): string {
    return readFileSync(`/sys/class/net/${this.ifname}/ifindex`, 'utf8').trim();
  }

  /** The clsact on the interface is the one this agent (or its killed predecessor) added. */
  private ownsClsact(): boolean {
    try {
      return readFileSync(this.marker, 'utf8') === this.ifindex();
    } catch {
      return false;
    }
  }

  /** The kernel target of every destination the rules use; throws for what tc cannot do. */
  private plan(
    ruleSet: RuleSet,
    destinations: ReadonlyMap<string, string>,
  ): Map<string, KernelTarget> {
    for (const r of ruleSet.rules) {
      const t = r.transforms;
      if (t.slice || t.sample || t.dedup || t.stripVlan)
        throw new Error(
          `rule "${r.name}": tc offload copies whole frames; slice, sample, dedup and stripVlan need a user-space tap (afpacket:)`,
        );
    }
    if (destinations.size > MAX_DESTINATIONS)
      throw new Error(`tc offload takes at most ${MAX_DESTINATIONS} destinations`);
    const out = new Map<string, KernelTarget>();
    for (const [name, uri] of destinations) {
      const d = parseDestination(uri);
      if (d.kind === 'iface') out.set(name, { name, uri, dev: d.ifname });
      else if (d.kind === 'vxlan') {
        if (!/^[\d.]+$|:/.test(d.host))
          throw new Error(
            `destination ${name}: tc offload needs the collector as an IP address, not ${d.host}`,
          );
        const dev = `nmx${createHash('sha256').update(`${this.ifname} ${uri}`).digest('hex').slice(0, 10)}`;
        out.set(name, { name, uri, dev, vxlan: { vni: d.vni, remote: d.host, port: d.port } });
      } else {
        throw new Error(
          `destination ${name} (${uri}): tc offload mirrors only to iface: and vxlan:// destinations; use afpacket: for ${d.kind}`,
        );
      }
    }
    return out;
  }

  private async createVxlan(t: KernelTarget): Promise<void> {
    const v = t.vxlan!;
    await runTool('ip', ['link', 'del', t.dev]).catch(() => undefined); // a leftover of ours, under the same name
    await runTool('ip', [
      'link', 'add', t.dev, 'type', 'vxlan', 'id', `${v.vni}`, 'remote', v.remote, 'dstport', `${v.port}`, 'nolearning',
    ]); // prettier-ignore
    // Large enough that no copy is cut by the device (the IP layer fragments when the path is smaller).
    await runTool('ip', ['link', 'set', t.dev, 'mtu', '65000', 'alias', this.alias, 'up']);
  }
}
