#!/usr/bin/env node
// bench/live: live capture on a veth, NetMirror against the anchor tools
// (tcpdump, netsniff-ng, daemonlogger, kernel tc mirred), in one run,
// interleaved, median of N runs. Needs root; builds its own namespaces
// (see topology.mjs) and removes them at the end, on failure and on Ctrl-C.
//
//   node bench/live/run.mjs [--reps N] [--count N] [--sizes 64,mix]
//        [--modes a,b,...] [--warmup N] [--cpus LIST] [--afpacket 'ring=MiB&block=KiB']
//        [--time-limit S] [--json FILE]
//
// Each run of a mode: start the tap, send --warmup frames (JIT, page
// faults, first-touch costs), then --count frames, wait, stop, count. Per
// mode and frame-size profile it prints: offered packets/s (frames that
// reached the tapped interface / the time trafgen spent sending them; on
// veth the receive path, taps included, runs on the sender's core, so a
// tap's kernel cost shows as a lower sending rate: compare with the no-tap
// baseline of the same run), delivered packets/s (frames in the recording,
// or copies counted by the collector's veths), loss (offered − delivered,
// over the tap's whole life) and the capture process's user+system CPU per
// offered frame in the measured window (GNU time at exit less
// /proc/PID/stat before the window), then the ratios the targets are about.
// Capture processes are pinned to CPU 1 (--cpus), trafgen sends from CPU 0.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { countRecords } from './capfile.mjs';
import { DEFAULT_MODES, modes as defineModes } from './modes.mjs';
import {
  childOf,
  cpuSeconds,
  killAll,
  readTimeFile,
  sh,
  sleep,
  startTool,
  stopTool,
  waitForPacketSocket,
} from './proc.mjs';
import { removeStale, Topology } from './topology.mjs';
import { PROFILES, runTrafgen, writeTrafgenConfig } from './traffic.mjs';

const root = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    count: { type: 'string', default: '2000000' },
    sizes: { type: 'string', default: '64,mix' },
    modes: { type: 'string', default: DEFAULT_MODES.join(',') },
    afpacket: { type: 'string', default: '' },
    warmup: { type: 'string', default: '100000' },
    cpus: { type: 'string', default: '1' },
    'time-limit': { type: 'string', default: '30' },
    json: { type: 'string' },
  },
});
const reps = Number(values.reps);
const count = Number(values.count);
const limitSec = Number(values['time-limit']);
const warmup = Number(values.warmup);
/** Where the capture processes run (taskset list; '' = anywhere); trafgen sends from CPU 0. */
const toolCpus = values.cpus;
const sizes = values.sizes.split(',').filter(Boolean);
const netmirror = join(root, 'apps/agent/bin/netmirror.js');
const MODES = defineModes({ node: process.execPath, netmirror, afpacketQuery: values.afpacket });
const modeNames = values.modes.split(',').filter(Boolean);
for (const m of modeNames)
  if (!MODES[m]) fail(`unknown mode ${m}; modes: ${Object.keys(MODES).join(', ')}`);
for (const s of sizes) if (!PROFILES[s]) fail(`unknown size ${s}; sizes: 64, mix`);
if (!(reps >= 1 && count >= 1000 && warmup >= 0 && limitSec > 0))
  fail('--reps ≥ 1, --count ≥ 1000, --warmup ≥ 0, --time-limit > 0');

/** How long after the last frame a capture process is stopped (libpcap's 1 s block timeout). */
const SETTLE_MS = 1200;
/** After a capture has opened its socket: time to finish setting up (rings, files, sinks). */
const READY_GRACE_MS = 300;
/** After the warm-up burst, before the measured one: time to catch up. */
const WARMUP_PAUSE_MS = 300;
/** tc's "every frame" program, compiled by tcpdump on first use (see bytecode()). */
let cachedBytecode = null;

preflight();
const BASE = 'nmlive';
removeStale(BASE);
const prefix = `${BASE}-${process.pid}`;
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `${prefix}-`));
const topo = new Topology(prefix);
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  killAll();
  topo.destroy();
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    console.error(`\n${sig}: stopping, removing ${prefix}-* ...`);
    cleanup();
    process.exit(130);
  });

try {
  await main();
} catch (err) {
  console.error(`bench/live: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  cleanup();
}

async function main() {
  topo.create();
  const configs = {};
  const avgLen = {};
  for (const s of sizes) {
    configs[s] = join(dir, `trafgen-${s}.cfg`);
    avgLen[s] = writeTrafgenConfig(configs[s], s);
  }
  console.log(
    `bench/live: namespaces ${prefix}-{snd,tap,col}, files in ${dir} (tmpfs), ` +
      `${count.toLocaleString('en-US')} frames a run, ${reps} runs of each of ${modeNames.length} modes × ${sizes.length} sizes, interleaved`,
  );
  // The first frames through fresh namespaces are slower.
  await runTrafgen(topo.snd, configs[sizes[0]], 100000, limitSec);
  if (modeNames.includes('nm-vxlan'))
    await retrying('netmirror', () => vxlanCheck(configs[sizes[0]]));

  const results = [];
  const t0 = Date.now();
  for (let rep = 0; rep < reps; rep++) {
    for (const size of sizes) {
      // A different order each repetition, so no mode always follows the same one.
      const order = modeNames.map((_, i) => modeNames[(i + rep) % modeNames.length]);
      for (const mode of order) {
        const r = await retrying(mode, () => measure(mode, size, rep, configs[size]));
        results.push(r);
        console.log(progressLine(r));
      }
    }
  }
  const elapsed = (Date.now() - t0) / 1000;
  console.log(`\nmeasured in ${elapsed.toFixed(0)} s\n`);
  for (const size of sizes) printTable(results, size, avgLen[size]);
  printRatios(results);
  if (values.json) {
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          argv: process.argv.slice(2),
          count,
          reps,
          sizes,
          results,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`\nraw results: ${values.json}`);
  }
}

/**
 * The machine is shared: a tool that cannot start (e.g. the agent's addon
 * being rebuilt by someone else that minute) gets two more tries, 10 s apart.
 */
async function retrying(label, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!err.startFailure || attempt === 3) throw err;
      const why = err.message.split('\n').find((l) => /Error/.test(l)) ?? 'see its log';
      console.log(`${label} did not start (${why.trim()}); trying again in 10 s`);
      await sleep(10000);
    }
  }
}

/**
 * One run of one mode: start the tap (a capture process, or tc mirred),
 * warm it up, send, let it settle, stop it, count. Loss is counted over the
 * tap's whole life (warm-up included) and all of it charged to the measured
 * window; rates and CPU are the measured window's.
 */
/** Whether the tool's tap is in place: a packet socket on in0, an XDP program on it, or a tc filter of ours. */
async function waitReady(m, tool) {
  if ((m.ready ?? 'packet') === 'packet')
    return waitForPacketSocket(tool.pid, topo.in0Index, 20000);
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const out =
      m.ready === 'tc'
        ? sh('tc', ['-n', topo.tap, '-j', 'filter', 'show', 'dev', 'in0', 'ingress'], {
            allowFail: true,
          }).stdout
        : sh('ip', ['-n', topo.tap, '-j', 'link', 'show', 'in0'], { allowFail: true }).stdout;
    if (m.ready === 'tc' ? out.includes('"cookie"') : out.includes('"xdp"')) return true;
    await sleep(50);
  }
  return false;
}

async function measure(modeName, size, rep, config) {
  const m = MODES[modeName];
  const ctx = {
    dir,
    file: join(dir, `${modeName}.${m.file ?? 'out'}`),
    statsJson: join(dir, `${modeName}.json`),
  };
  for (const f of [ctx.file, ctx.statsJson]) rmSync(f, { force: true });
  const before = topo.counters();
  let tool = null;
  const log = join(dir, `${modeName}.log`);
  if (m.kind === 'process') {
    const logFd = openSync(log, 'w');
    tool = startTool(topo.tap, m.argv(ctx), {
      cpuFile: join(dir, `${modeName}.time`),
      logFd,
      cpus: toolCpus,
    });
    closeSync(logFd);
    const ready = await waitReady(m, tool);
    if (!ready) {
      await stopTool(tool, 2000);
      const err = new Error(`${modeName} did not open in0:\n${readFileSync(log, 'utf8')}`);
      err.startFailure = true;
      throw err;
    }
    await sleep(READY_GRACE_MS);
  } else if (m.kind === 'tc') {
    topo.addMirred(m.mirredTo, bytecode());
  }
  let tg;
  let exit = null;
  let mid;
  let cpuAtStart = NaN;
  try {
    if (warmup > 0) {
      await runTrafgen(topo.snd, config, warmup, limitSec);
      await sleep(WARMUP_PAUSE_MS);
    }
    mid = topo.counters();
    if (tool) cpuAtStart = cpuSeconds(childOf(tool.pid));
    tg = await runTrafgen(topo.snd, config, count, limitSec);
  } finally {
    if (tool) {
      await sleep(SETTLE_MS);
      exit = await stopTool(tool);
    } else if (m.kind === 'tc') {
      await sleep(200);
      topo.removeMirred();
    }
  }
  const after = topo.counters();
  const total = (k, f = 'packets') => after[k][f] - before[k][f];
  const arrivedTotal = total('in0');
  const arrived = after.in0.packets - mid.in0.packets;
  const r = {
    mode: modeName,
    size,
    rep,
    sent: tg.sent,
    seconds: tg.seconds,
    timedOut: tg.timedOut,
    arrived,
    arrivedTotal,
    senderDropped: total('snd0', 'dropped'),
    offeredPps: arrived / tg.seconds,
    delivered: null,
    loss: null,
    cpuSec: null,
    linkDropped:
      total('tapMon0', 'dropped') + total('colMon0', 'dropped') + total('colRt0', 'dropped'),
  };
  // The copies are whole when their bytes add up: frames as captured, or plus 50 bytes of VXLAN over IPv4.
  const frameBytes = total('in0', 'bytes');
  if (m.file) {
    const c = existsSync(ctx.file) ? countRecords(ctx.file) : { records: 0, bytes: 0 };
    r.deliveredTotal = c.records;
    r.intact = c.bytes === frameBytes;
  } else if (m.delivered) {
    r.deliveredTotal = total(m.delivered);
    const overhead = m.delivered === 'colRt0' ? 50 * r.deliveredTotal : 0;
    r.intact = total(m.delivered, 'bytes') === frameBytes + overhead;
  }
  if (r.deliveredTotal !== undefined) {
    r.loss = arrivedTotal - r.deliveredTotal;
    r.delivered = arrived - r.loss;
    r.deliveredPps = r.delivered / tg.seconds;
    if (r.loss !== 0) r.intact = null; // bytes cannot be compared when frames are missing
  }
  if (tool) {
    r.exit = exit.code ?? exit.signal;
    if (exit.killed) r.killed = true;
    r.cpuSec = readTimeFile(tool.cpuFile) - cpuAtStart;
    r.cpuUsPerFrame = (r.cpuSec / arrived) * 1e6;
    const text = readFileSync(log, 'utf8');
    const kernelDrops = /(\d+) packets dropped by kernel/.exec(text);
    if (kernelDrops) r.kernelDropped = Number(kernelDrops[1]);
    if (m.netmirror) r.nm = netmirrorStats(ctx.statsJson, text);
  }
  rmSync(ctx.file, { force: true });
  return r;
}

/** The agent's own account (--stats-json): frames read, kernel ring drops, and the destination's. */
function netmirrorStats(path, log) {
  if (!existsSync(path)) return { error: `no --stats-json: ${log.trim().slice(0, 300)}` };
  const s = JSON.parse(readFileSync(path, 'utf8'));
  const d = s.destinations[0];
  return {
    read: s.counters.read,
    sourceDropped: s.sourceDropped,
    sent: d.sent,
    dropped: d.dropped,
    failed: d.failed,
    truncated: d.truncated,
    lastError: d.lastError,
  };
}

/**
 * Before measuring: NetMirror's VXLAN copies must be real VXLAN. With the
 * collector's own MAC as next hop, 2,000 frames go through `netmirror →
 * vxlan://` and the collector's VXLAN device must decapsulate every copy.
 */
async function vxlanCheck(config) {
  const frames = 2000;
  topo.setVxlanNextHop(true);
  try {
    const m = MODES['nm-vxlan'];
    const ctx = { dir, statsJson: join(dir, 'check.json') };
    const logFd = openSync(join(dir, 'check.log'), 'w');
    const tool = startTool(topo.tap, m.argv(ctx), { cpuFile: join(dir, 'check.time'), logFd });
    closeSync(logFd);
    if (!(await waitForPacketSocket(tool.pid, topo.in0Index, 20000))) {
      await stopTool(tool, 2000);
      const err = new Error(
        `netmirror did not start: ${readFileSync(join(dir, 'check.log'), 'utf8')}`,
      );
      err.startFailure = true;
      throw err;
    }
    await sleep(READY_GRACE_MS);
    const before = topo.links(topo.col).get('vx0').stats64.rx.packets;
    await runTrafgen(topo.snd, config, frames, limitSec);
    await sleep(500);
    await stopTool(tool);
    const got = topo.links(topo.col).get('vx0').stats64.rx.packets - before;
    console.log(
      `VXLAN check: ${got.toLocaleString('en-US')} of ${frames.toLocaleString('en-US')} netmirror copies decapsulated by the collector's VXLAN device (VNI 42)`,
    );
    if (got !== frames) throw new Error('netmirror VXLAN copies did not all decapsulate');
  } finally {
    topo.setVxlanNextHop(false);
  }
}

/** Classic BPF accepting every frame, as tcpdump compiles it (the form tc's bpf classifier takes). */
function bytecode() {
  cachedBytecode ??= sh('tcpdump', ['-ddd', '-y', 'EN10MB', ''])
    .stdout.trim()
    .split('\n')
    .join(',');
  return cachedBytecode;
}

function progressLine(r) {
  const parts = [
    `rep ${r.rep + 1} ${String(r.size).padEnd(3)} ${r.mode.padEnd(12)}`,
    `offered ${mpps(r.offeredPps)} Mpps`,
  ];
  if (r.delivered !== null)
    parts.push(`delivered ${mpps(r.deliveredPps)} Mpps`, `loss ${r.loss.toLocaleString('en-US')}`);
  if (r.cpuSec !== null) parts.push(`cpu ${r.cpuUsPerFrame.toFixed(2)} µs/frame`);
  if (r.nm) {
    parts.push(
      r.nm.error ??
        `read ${r.nm.read} sourceDropped ${r.nm.sourceDropped} dest sent ${r.nm.sent} dropped ${r.nm.dropped} failed ${r.nm.failed}`,
    );
  }
  if (r.kernelDropped !== undefined) parts.push(`kernel dropped ${r.kernelDropped}`);
  if (r.linkDropped) parts.push(`link dropped ${r.linkDropped}`);
  if (r.senderDropped) parts.push(`sender dropped ${r.senderDropped}`);
  if (r.intact === false) parts.push('COPIES NOT WHOLE (bytes do not add up)');
  if (r.timedOut) parts.push('TRAFGEN TIMED OUT');
  if (r.exit !== undefined && r.exit !== 0)
    parts.push(`exit ${r.exit}${r.killed ? ' (killed)' : ''}`);
  return parts.join('  ');
}

function printTable(results, size, avgLen) {
  const rows = results.filter((r) => r.size === size);
  const base = median(rows.filter((r) => r.mode === 'none').map((r) => r.offeredPps));
  const title =
    size === '64'
      ? '64-byte frames (60 captured)'
      : `IMIX 7:4:1 of 64/594/1518-byte frames (average ${avgLen.toFixed(0)} captured)`;
  console.log(
    `${title}: ${count.toLocaleString('en-US')} frames a run, median (min–max) of ${reps}`,
  );
  const header = [
    'mode',
    'offered Mpps',
    'vs no tap',
    'delivered Mpps',
    'loss %',
    'lossless',
    'CPU µs/frame',
  ];
  const table = [header];
  for (const mode of modeNames) {
    const rs = rows.filter((r) => r.mode === mode);
    if (rs.length === 0) continue;
    const off = rs.map((r) => r.offeredPps);
    const hasDelivered = rs[0].delivered !== null;
    const hasCpu = rs[0].cpuSec !== null;
    table.push([
      MODES[mode].label,
      spread(off, mpps),
      base ? (median(off) / base).toFixed(2) : '–',
      hasDelivered
        ? spread(
            rs.map((r) => r.deliveredPps),
            mpps,
          )
        : '–',
      hasDelivered
        ? spread(
            rs.map((r) => (100 * r.loss) / r.arrivedTotal),
            (v) => v.toFixed(1),
          )
        : '–',
      hasDelivered ? `${rs.filter((r) => r.loss === 0).length}/${rs.length}` : '–',
      hasCpu
        ? spread(
            rs.map((r) => r.cpuUsPerFrame),
            (v) => v.toFixed(2),
          )
        : MODES[mode].kind === 'tc'
          ? 'kernel'
          : '–',
    ]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
  const nmRows = rows.filter((r) => r.nm);
  if (nmRows.length) {
    console.log(
      'netmirror counters per run (read / sourceDropped = kernel ring / destination dropped = queue full / failed):',
    );
    for (const mode of modeNames.filter((m) => MODES[m].netmirror)) {
      const rs = nmRows.filter((r) => r.mode === mode);
      if (rs.length === 0) continue;
      console.log(
        `  ${mode.padEnd(10)} ` +
          rs
            .map((r) =>
              r.nm.error
                ? r.nm.error
                : `${r.nm.read}/${r.nm.sourceDropped}/${r.nm.dropped}/${r.nm.failed}`,
            )
            .join('   '),
      );
    }
  }
  console.log('');
}

/** The ratios the targets name, paired by repetition (same minute), then the median. */
function printRatios(results) {
  const paired = (size, a, b, f) => {
    const out = [];
    for (let rep = 0; rep < reps; rep++) {
      const ra = results.find((r) => r.size === size && r.mode === a && r.rep === rep);
      const rb = results.find((r) => r.size === size && r.mode === b && r.rep === rep);
      if (ra && rb) out.push(f(ra, rb));
    }
    return out;
  };
  const fmt = (list) => (list.length ? spread(list, (v) => v.toFixed(2)) : 'n/a');
  const named = [
    'nm-pcapng',
    'tcpdump',
    'nm-vxlan',
    'daemonlogger',
    'nm-iface',
    'nm-tc-iface',
    'nm-tc-vxlan',
    'nm-xdp-pcapng',
  ];
  if (!named.some((m) => modeNames.includes(m))) return;
  for (const size of sizes) {
    console.log(
      `ratios, ${size === '64' ? '64-byte frames' : 'IMIX'} (median (min–max) of per-run pairs):`,
    );
    if (modeNames.includes('nm-pcapng') && modeNames.includes('tcpdump')) {
      const rate = paired(size, 'nm-pcapng', 'tcpdump', (a, b) => a.deliveredPps / b.deliveredPps);
      const cpu = paired(size, 'nm-pcapng', 'tcpdump', (a, b) => b.cpuUsPerFrame / a.cpuUsPerFrame);
      console.log(
        `  netmirror record vs tcpdump -w: delivered rate ${fmt(rate)}, CPU per frame tcpdump/netmirror ${fmt(cpu)}`,
      );
    }
    if (modeNames.includes('nm-vxlan') && modeNames.includes('daemonlogger')) {
      const rate = paired(
        size,
        'nm-vxlan',
        'daemonlogger',
        (a, b) => a.deliveredPps / b.deliveredPps,
      );
      const cpu = paired(
        size,
        'nm-vxlan',
        'daemonlogger',
        (a, b) => b.cpuUsPerFrame / a.cpuUsPerFrame,
      );
      const nm = results.filter((r) => r.size === size && r.mode === 'nm-vxlan');
      const lossless = nm.filter((r) => r.loss === 0).length;
      const ok = rate.length && median(rate) >= 2 && lossless === nm.length;
      console.log(
        `  netmirror VXLAN vs daemonlogger: delivered rate ${fmt(rate)}, CPU per frame daemonlogger/netmirror ${fmt(cpu)}; netmirror lossless in ${lossless}/${nm.length} runs; target ≥ 2× without loss: ${ok ? 'met' : 'NOT met'}`,
      );
    }
    // Kernel offload against plain tc mirred (target: within 5%), on the sender's rate, which is
    // where a kernel tap's cost shows on veth, and AF_XDP against AF_PACKET (target: at least as fast).
    for (const [ours, anchor, target] of [
      ['nm-tc-iface', 'tc-veth', 'within 5%: ≥ 0.95'],
      ['nm-tc-vxlan', 'tc-vxlan', 'within 5%: ≥ 0.95'],
      ['nm-xdp-pcapng', 'nm-pcapng', 'at least as fast: ≥ 1.00'],
    ]) {
      if (!modeNames.includes(ours) || !modeNames.includes(anchor)) continue;
      const rate = paired(size, ours, anchor, (a, b) => a.deliveredPps / b.deliveredPps);
      const offered = paired(size, ours, anchor, (a, b) => a.offeredPps / b.offeredPps);
      const lossless = results.filter(
        (r) => r.size === size && r.mode === ours && r.loss === 0,
      ).length;
      console.log(
        `  ${ours} vs ${anchor}: delivered rate ${fmt(rate)}, offered (sender) rate ${fmt(offered)}, ${ours} lossless in ${lossless}/${reps} runs; target ${target}`,
      );
    }
    const td = results.filter((r) => r.size === size && r.mode === 'tcpdump');
    if (td.length) {
      const tdLossless = td.filter((r) => r.loss === 0).length;
      for (const mode of ['nm-pcapng', 'nm-iface', 'nm-vxlan', 'nm-xdp-pcapng'].filter((m) =>
        modeNames.includes(m),
      )) {
        const rs = results.filter((r) => r.size === size && r.mode === mode);
        const n = rs.filter((r) => r.loss === 0).length;
        console.log(
          `  lossless runs: ${mode} ${n}/${rs.length}, tcpdump ${tdLossless}/${td.length}`,
        );
      }
    }
  }
}

function preflight() {
  if (process.getuid?.() !== 0) fail('needs root (namespaces, AF_PACKET, tc)');
  const need = new Set(['ip', 'tc', 'tcpdump', 'trafgen']);
  if (modeNames.includes('netsniff')) need.add('netsniff-ng');
  for (const cmd of need)
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
      fail(`${cmd} is missing (Debian: iproute2, tcpdump, netsniff-ng)`);
  // GNU time (Debian package "time") measures the capture processes' CPU.
  if (!existsSync('/usr/bin/time')) aptInstall('time');
  if (
    modeNames.includes('daemonlogger') &&
    spawnSync('sh', ['-c', 'command -v daemonlogger']).status !== 0
  )
    aptInstall('daemonlogger');
  if (
    modeNames.includes('xdp-hook') &&
    spawnSync('sh', ['-c', 'command -v xdp-filter']).status !== 0
  )
    aptInstall('xdp-tools');
  if (modeNames.some((m) => MODES[m].netmirror) && !existsSync(join(root, 'apps/agent/dist')))
    fail(
      'the agent is not built: npx tsc -b tsconfig.json && (cd apps/agent && npx rolldown -c rolldown.config.mjs)',
    );
}

function aptInstall(pkg) {
  console.log(`installing Debian's ${pkg} (first use) ...`);
  let r = spawnSync('apt-get', ['install', '-y', '-q', pkg], { stdio: 'inherit' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
    r = spawnSync('apt-get', ['install', '-y', '-q', pkg], { stdio: 'inherit' });
  }
  if (r.status !== 0) fail(`could not install ${pkg}`);
}

function median(list) {
  if (list.length === 0) return NaN;
  const s = [...list].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function spread(list, f) {
  if (list.length === 1) return f(list[0]);
  return `${f(median(list))} (${f(Math.min(...list))}–${f(Math.max(...list))})`;
}

function mpps(v) {
  return (v / 1e6).toFixed(3);
}

function fail(message) {
  console.error(`bench/live: ${message}`);
  process.exit(2);
}
