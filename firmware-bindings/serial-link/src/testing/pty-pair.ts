// Two pseudo-terminals joined back to back by socat: a serial cable for
// tests, with real tty devices at both ends.
import { spawn, type ChildProcess } from 'node:child_process';

export interface PtyPair {
  /** Device paths of the two ends, e.g. /dev/pts/3 and /dev/pts/4. */
  a: string;
  b: string;
  /** Stops socat (both ends go away). Idempotent. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 2000;

// socat processes still running, killed if the test process exits first.
const live = new Set<ChildProcess>();
let exitHook = false;

function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/**
 * Starts `socat -d -d pty,raw,echo=0 pty,raw,echo=0` and resolves once it
 * reports both ends and is relaying. Use in try/finally with close().
 */
export function createPtyPair(): Promise<PtyPair> {
  const child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  const close = (): Promise<void> => stop(child);
  return new Promise<PtyPair>((resolve, reject) => {
    let log = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      void close();
      reject(new Error(`socat: ${why}${log ? `\n${log}` : ''}`));
    };
    const timer = setTimeout(
      () => fail(`no pty pair within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code) => fail(`exited with ${code}`));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      log += text;
      const paths = [...log.matchAll(/PTY is (\/dev\/\S+)/g)].map((m) => m[1]);
      // "starting data transfer loop": both ends exist and bytes flow.
      if (paths.length < 2 || !/starting data transfer loop/.test(log)) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stderr!.removeAllListeners('data');
      child.stderr!.resume();
      resolve({ a: paths[0], b: paths[1], close });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
