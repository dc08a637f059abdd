/**
 * The built `netmirror agent` as a long-running child process: its stderr
 * kept for assertions, waits bounded by timeouts, and a stop that always
 * ends it (SIGTERM, then SIGKILL).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NETMIRROR } from './run.js';
import { until } from './until.js';

export interface AgentProcess {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `pattern` on stderr; rejects on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (rejects if the process is still running after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface StartAgentOptions {
  /** The agent's working directory (default: the test's). */
  cwd?: string;
}

/** Writes `config` (JSON is YAML) to `configPath` and starts `netmirror agent --config configPath`. */
export function startAgent(
  configPath: string,
  config: object,
  options: StartAgentOptions = {},
): AgentProcess {
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = spawn('node', [NETMIRROR, 'agent', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const waitFor = (pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        const m = err.match(pattern);
        if (m) return resolve(m);
        if (child.exitCode !== null || child.signalCode !== null)
          return reject(new Error(`agent exited (${child.exitCode}) before ${pattern}:\n${err}`));
        if (Date.now() - started > timeoutMs)
          return reject(new Error(`no ${pattern} from the agent after ${timeoutMs} ms:\n${err}`));
        setTimeout(poll, 25);
      };
      poll();
    });

  const exited = (timeoutMs = 20_000): Promise<number | null> =>
    Promise.race([
      exit,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`agent still running after ${timeoutMs} ms:\n${err}`)),
          timeoutMs,
        ).unref(),
      ),
    ]);

  const stop = async (timeoutMs = 10_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    try {
      const code = await exited(timeoutMs);
      if (code !== 0) process.stderr.write(`agent exited ${code} on SIGTERM:\n${err}\n`);
      return code;
    } catch (e) {
      child.kill('SIGKILL');
      await exit;
      throw e;
    }
  };

  return { child, stderr: () => err, waitFor, exited, stop };
}

export interface EnrolledAgentOptions {
  /** The fleet manager's REST API and its base URL. */
  api: (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;
  fleetUrl: string;
  /** Where the agent keeps its configuration, state and working files (created). */
  dir: string;
  deviceId: string;
  labels: Record<string, string>;
  topicRoot: string;
  taps: string[];
}

/**
 * An agent enrolled with a fresh one-time token for `labels`, configured
 * with `taps`, telemetry every second; resolves once the fleet manager shows
 * it online (rejects with its stderr otherwise).
 */
export async function startEnrolledAgent(o: EnrolledAgentOptions): Promise<AgentProcess> {
  const { token } = await o.api('POST', '/enrollment-tokens', {
    ttlSeconds: 600,
    labels: o.labels,
  });
  mkdirSync(o.dir, { recursive: true });
  const agent = startAgent(
    join(o.dir, 'agent.json'),
    {
      deviceId: o.deviceId,
      stateDir: join(o.dir, 'state'),
      fleet: { url: o.fleetUrl, enrollmentToken: token },
      topicRoot: o.topicRoot,
      taps: o.taps,
      httpPort: 0,
      telemetrySeconds: 1,
    },
    { cwd: o.dir },
  );
  await until(
    `${o.deviceId} online`,
    async () =>
      (
        (await o.api('GET', `/devices/${o.deviceId}`).catch(() => null)) as {
          online?: boolean;
        } | null
      )?.online,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- agent stderr ---\n${agent.stderr().slice(-3000)}`);
  });
  return agent;
}
