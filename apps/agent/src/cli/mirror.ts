import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileBpf } from '@netmirror/native';
import { parseRuleSet, RuleSetError } from '@netmirror/rules';
import type { RuleSet } from '@netmirror/rules';
import { hasOwnSession, openCaptureSession } from '../capture-session.js';
import { MirrorSession } from '../pipeline/index.js';
import type { CaptureSession, MirrorSummary, Pace, PipelineCounters } from '../pipeline/index.js';
import { openSink } from '../sinks/index.js';
import type { Sink } from '../sinks/index.js';
import { openTaps } from '../taps/index.js';
import { formatSummary } from './summary.js';

const HELP = `Usage: netmirror mirror --from SOURCE ... [--filter EXPR] [--rules FILE] --to [NAME=]URI ...

  --from SOURCE       capture source (repeatable, all live or all files):
                        pcap:PATH[?loop]    a pcap or pcapng file (?loop: replay forever)
                        afpacket:IFACE      live, from an AF_PACKET ring; options after ?, joined by &:
                                            ring=SIZE (64M), block=SIZE (1M): sizes take K or M
                                            snaplen=N, fanout=GROUP[:hash|lb|cpu|rnd|qm], promisc=0
                        xdp:IFACE           live, from an AF_XDP socket (kernel bypass); only for a port
                                            that carries copies (SPAN, passive tap): XDP takes the frames;
                                            queue=N, frames=N, mode=skb|drv, zc=0|1|auto
                        usb:[VID:PID]       live, from a NetMirror USB tap (default 1209:0001), one
                                            interface per port; serial=S, snaplen=N, ports=MASK (0xf);
                                            waits for the device, follows it through unplug and re-plug
                        tc:IFACE            mirrored in the kernel (tc clsact + mirred), to iface: and
                                            vxlan:// destinations only; counters from tc
                        fpga:SERIALPORT?board=PROFILE[&baud=N&timestamps=none|trailer]
                                            a hardware tap board (profiles in fpga-configs/boards):
                                            the rules go to its filter table, the copies to its
                                            monitor ports (board:PORT destinations); counters from it
  --filter EXPR       pcap-filter expression, exactly as tcpdump reads it; applied
                      before the rules, like a capture filter (live sources also apply it in the kernel)
  --rules FILE        mirror rules (YAML or JSON); without it every frame the filter
                      passes goes to every --to destination
  --to [NAME=]URI     a destination (repeatable); unnamed ones are to1, to2, ...:
                        pcap:PATH  pcapng:PATH  record:DIR[?fileBytes=N&maxTotalBytes=N...]
                        iface:IFNAME (the frames themselves, out of a monitor port)
                        board:PORT (a monitor port of an fpga: board, e.g. board:mon0)
                        vxlan://HOST[:PORT]?vni=N  gre://HOST[?key=N]  tzsp://HOST[:PORT]
                        erspan2://HOST?session=N  erspan3://HOST?session=N
  --speed X           replay at X times the recorded pace (1 = as recorded), as live
                      traffic: a destination that cannot keep up drops its copies
  --pps N             replay at N frames per second, as live traffic
  --stats-json FILE   write the summary counters as JSON
  --quiet             no progress line and no summary
`;

/** `netmirror mirror`: returns the exit code (0 ok, 1 the source was damaged or failed, 2 usage). */
export async function runMirror(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        from: { type: 'string', multiple: true },
        filter: { type: 'string' },
        rules: { type: 'string' },
        to: { type: 'string', multiple: true },
        'stats-json': { type: 'string' },
        speed: { type: 'string' },
        pps: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!args.from?.length) return usage('--from is required');
  let pace: Pace | undefined;
  if (args.speed !== undefined && args.pps !== undefined)
    return usage('give --speed or --pps, not both');
  if (args.speed !== undefined) {
    const speed = Number(args.speed);
    if (!(speed > 0)) return usage(`--speed ${args.speed}: expected a number > 0`);
    pace = { speed };
  } else if (args.pps !== undefined) {
    const pps = Number(args.pps);
    if (!(pps > 0)) return usage(`--pps ${args.pps}: expected a number > 0`);
    pace = { pps };
  }

  let ruleSet: RuleSet;
  let sinks: Map<string, Sink>;
  let defaults: Sink[];
  try {
    ruleSet = args.rules
      ? parseRuleSet(readFileSync(args.rules, 'utf8'), args.rules)
      : mirrorEverything();
    ({ sinks, defaults } = buildSinks(args.to ?? [], ruleSet));
  } catch (err) {
    return usage(
      err instanceof RuleSetError ? `${args.rules}: ${err.message}` : (err as Error).message,
    );
  }
  if (sinks.size === 0)
    return usage('no destination: give --to URI (or destinations in the rules file)');

  const progress = !args.quiet && process.stderr.isTTY ? showProgress : undefined;
  const common = {
    ruleSet,
    sinks,
    defaultSinks: defaults,
    filter: args.filter,
    onProgress: progress,
    pace,
  };
  let session: CaptureSession;
  try {
    if (args.from.some(hasOwnSession)) {
      session = openCaptureSession(args.from, common);
    } else {
      const tap = openTaps(args.from);
      // Like tcpdump: a filter that does not compile for the input stops before anything is written.
      const problem = args.filter === undefined ? null : filterProblem(args.filter, tap.linkTypes);
      if (problem !== null) {
        tap.close();
        return usage(`--filter '${args.filter}': ${problem}`);
      }
      session = new MirrorSession({ ...common, tap });
    }
  } catch (err) {
    process.stderr.write(`netmirror mirror: ${(err as Error).message}\n`);
    return 1;
  }
  const onSignal = (): void => session.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let summary: MirrorSummary;
  try {
    summary = await session.run();
  } catch (err) {
    process.stderr.write(`netmirror mirror: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (progress) process.stderr.write('\r\x1b[K');
  if (!args.quiet) process.stdout.write(formatSummary(summary));
  if (args['stats-json'])
    writeFileSync(args['stats-json'], JSON.stringify(summary, null, 2) + '\n');
  if (summary.sourceError) {
    process.stderr.write(`netmirror mirror: ${summary.sourceError}\n`);
    return 1;
  }
  return 0;
}

/** Without a rules file: one rule that mirrors everything to every --to destination. */
function mirrorEverything(): RuleSet {
  return {
    destinations: {},
    rules: [
      { name: 'all', priority: 0, action: 'mirror', match: {}, transforms: {}, destinations: [] },
    ],
  };
}

/** CLI `--to` destinations (to1, to2, ... unless named) plus the rules file's own. */
function buildSinks(
  to: string[],
  ruleSet: RuleSet,
): { sinks: Map<string, Sink>; defaults: Sink[] } {
  const sinks = new Map<string, Sink>();
  const defaults: Sink[] = [];
  to.forEach((spec, i) => {
    const named = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(spec);
    const name = named && !/^[a-z0-9]+:/.test(spec) ? named[1] : `to${i + 1}`;
    const uri = named && !/^[a-z0-9]+:/.test(spec) ? named[2] : spec;
    if (sinks.has(name)) throw new Error(`--to: destination name "${name}" used twice`);
    const sink = openSink(name, uri);
    sinks.set(name, sink);
    defaults.push(sink);
  });
  for (const [name, uri] of Object.entries(ruleSet.destinations)) {
    if (sinks.has(name))
      throw new Error(`destination "${name}" is defined both by --to and by the rules file`);
    sinks.set(name, openSink(name, uri));
  }
  for (const rule of ruleSet.rules) {
    for (const d of rule.destinations) {
      if (!sinks.has(d))
        throw new Error(
          `rule "${rule.name}" sends to "${d}", which is not defined (${[...sinks.keys()].join(', ') || 'no destinations'})`,
        );
    }
  }
  return { sinks, defaults };
}

/** Why `expression` cannot filter frames of these link types, or null. */
function filterProblem(expression: string, linkTypes: ArrayLike<number>): string | null {
  for (const linkType of new Set(Array.from(linkTypes))) {
    try {
      compileBpf(expression, linkType);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return null;
}

function showProgress(c: PipelineCounters, elapsedSec: number): void {
  const rate = elapsedSec > 0 ? c.read / elapsedSec : 0;
  process.stderr.write(
    `\r\x1b[K${c.read.toLocaleString('en-US')} frames read, ${c.mirrored.toLocaleString('en-US')} mirrored, ${(rate / 1e6).toFixed(2)} Mpps`,
  );
}

function usage(message: string): number {
  process.stderr.write(`netmirror mirror: ${message}\n\n${HELP}`);
  return 2;
}
