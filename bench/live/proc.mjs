// Processes for bench/live: commands that must succeed, capture tools run
// in a namespace under GNU time (for their CPU), readiness, and stopping
// them. Every long-lived child gets its own process group, remembered here,
// so a failed or interrupted run can end exactly the processes it started.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Process groups still running (pgid → description). */
const groups = new Map();

/** Clock ticks per second of /proc/PID/stat (utime, stime). */
export const CLK_TCK =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** Runs a command to completion; throws with its stderr if it fails. */
export function sh(cmd, args, { allowFail = false } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (!allowFail && (r.status !== 0 || r.error)) {
    const why = r.error ? r.error.message : r.stderr.trim() || `exit ${r.status}`;
    throw new Error(`${cmd} ${args.join(' ')}: ${why}`);
  }
  return r;
}

/** Runs a command asynchronously in its own process group; resolves with its output and exit. */
export function runAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.set(child.pid, cmd);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      groups.delete(child.pid);
      resolve({ code, signal, out });
    });
  });
}

/**
 * Starts `argv` inside namespace `ns` under `/usr/bin/time -f '%U %S' -o
 * cpuFile`, in its own process group, its output going to `logFd`. GNU time
 * ignores SIGINT while it waits, so signalling the group stops the tool
 * alone and time still writes the tool's whole user+system CPU (all threads,
 * start to exit). `cpus` (a taskset list) pins it, time and all.
 */
export function startTool(ns, argv, { cpuFile, logFd, cpus }) {
  const pin = cpus ? ['taskset', '-c', cpus] : [];
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, ...pin, '/usr/bin/time', '-f', '%U %S', '-o', cpuFile, ...argv],
    { detached: true, stdio: ['ignore', logFd, logFd] },
  );
  groups.set(child.pid, argv[0]);
  const exited = new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: -1, signal: null, error: err }));
    child.on('exit', (code, signal) => {
      groups.delete(child.pid);
      resolve({ code, signal });
    });
  });
  return { pid: child.pid, exited, cpuFile, name: argv[0] };
}

/** Stops a tool started by startTool: SIGINT to its group, SIGKILL if it has not exited in time. */
export async function stopTool(tool, timeoutMs = 30000) {
  try {
    process.kill(-tool.pid, 'SIGINT');
  } catch {
    // already gone
  }
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  let result = await Promise.race([tool.exited, late]);
  clearTimeout(timer);
  if (result === null) {
    killGroup(tool.pid);
    result = { ...(await tool.exited), killed: true };
  }
  return result;
}

/** user+system seconds GNU time wrote for the whole run of the tool, or NaN. */
export function readTimeFile(file) {
  if (!existsSync(file)) return NaN;
  // A non-zero exit adds a "Command exited with non-zero status N" line first.
  const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
  const m = /^([\d.]+) ([\d.]+)$/.exec(last);
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

/** The first child process of `pid` (the tool under GNU time), or 0. */
export function childOf(pid) {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesised command name: state ppid ...
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === pid) return Number(name);
    } catch {
      // the process ended while we looked
    }
  }
  return 0;
}

/** user+system CPU seconds of a live process (all its threads) from /proc/PID/stat. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): utime is field 14, stime 15.
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Waits until a packet socket bound to interface `ifindex` exists in the
 * network namespace of `pid` (seen through /proc/PID/net/packet): the tool
 * has opened its capture. False on timeout or if the tool exited.
 */
export async function waitForPacketSocket(pid, ifindex, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (packetSockets(pid).includes(ifindex)) return true;
    if (!existsSync(`/proc/${pid}`)) return false;
    await sleep(50);
  }
  return false;
}

/** Interface indexes of the packet sockets in the namespace of `pid` (0 = not bound). */
export function packetSockets(pid) {
  try {
    return readFileSync(`/proc/${pid}/net/packet`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => Number(line.trim().split(/\s+/)[4]));
  } catch {
    return [];
  }
}

/** SIGKILL to a process group this bench started. */
export function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
  groups.delete(pgid);
}

/** Ends every process group this bench started and that is still running (at exit or abort). */
export function killAll() {
  for (const pgid of [...groups.keys()]) killGroup(pgid);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
