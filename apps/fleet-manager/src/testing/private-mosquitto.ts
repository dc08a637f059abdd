// A Mosquitto of a test's own on a free port, so a test can stop and restart
// the broker without disturbing the shared one on 1883.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateMosquitto {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function listening(port: number, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PrivateMosquittoOptions {
  /**
   * The mosquitto.conf to run, given the port to listen on and the broker's
   * own temporary folder (for certificates, ACL). Default: plain MQTT, anonymous.
   */
  config?: (port: number, dir: string) => string;
  /** URL scheme of `url`; default mqtt. */
  scheme?: 'mqtt' | 'mqtts';
}

export async function startPrivateMosquitto(
  options: PrivateMosquittoOptions = {},
): Promise<PrivateMosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nm-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    options.config?.(port, dir) ??
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`,
  );
  let proc: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
    await listening(port, 5000);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `${options.scheme ?? 'mqtt'}://127.0.0.1:${port}`,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
