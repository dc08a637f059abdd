// The agent's side of `firmware.install` (libs/protocol firmware.ts): check
// the command against the running session, download the image from the
// fleet manager (bounded in size and time, size and SHA-256 checked), hand
// it to the FPGA session, which installs it between its other work, and
// answer with the outcome. Progress goes out throttled: every phase change,
// and within a phase at most one message per interval.
import { createHash } from 'node:crypto';
import { readFirmwareInstallArgs } from '@netmirror/protocol';
import type {
  CommandContext,
  CommandHandler,
  FirmwareInstallArgs,
  FirmwareInstallResult,
} from '@netmirror/protocol';
import type { CaptureSession } from '../pipeline/index.js';
import { FpgaTapSession } from './fpga-session.js';

/** A slow fleet manager or link gets this long for the whole image. */
const DOWNLOAD_TIMEOUT_MS = 120_000;
/** Progress within one phase at most this often (phase changes go at once). */
const PROGRESS_INTERVAL_MS = 250;

export interface FirmwareCommandOptions {
  log?: (line: string) => void;
  downloadTimeoutMs?: number;
  progressIntervalMs?: number;
  /** Tests: another fetch. */
  fetch?: typeof fetch;
}

export interface ProgressUpdate {
  phase: string;
  bytes?: number;
  total?: number;
  message?: string;
}

/**
 * Rate-limits progress: an update of a new phase is sent at once (after the
 * one held back from the phase before, so each phase's last word is never
 * lost); within a phase, at most one per interval, the latest winning, a
 * timer sending the one held back. Sends are chained, so they leave in order.
 */
export class ProgressThrottle {
  private lastPhase: string | null = null;
  private lastAt = 0;
  private held: ProgressUpdate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (p: ProgressUpdate) => Promise<void>,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
  ) {}

  push(p: ProgressUpdate): void {
    const now = Date.now();
    if (p.phase !== this.lastPhase || now - this.lastAt >= this.intervalMs) {
      const held = this.held;
      this.cancel();
      if (held && held.phase !== p.phase) this.emit(held, now);
      this.emit(p, now);
      return;
    }
    this.held = p;
    this.timer ??= setTimeout(
      () => {
        this.timer = null;
        const held = this.held;
        this.held = null;
        if (held) this.emit(held, Date.now());
      },
      this.intervalMs - (now - this.lastAt),
    );
  }

  /** Sends what is held back and waits until everything pushed has been sent. */
  async flush(): Promise<void> {
    const held = this.held;
    this.cancel();
    if (held) this.emit(held, Date.now());
    await this.sending;
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held = null;
  }

  private emit(p: ProgressUpdate, now: number): void {
    this.lastPhase = p.phase;
    this.lastAt = now;
    this.sending = this.sending.then(() => this.send(p)).catch(() => undefined);
  }
}

/** The `firmware.install` handler for the agent's capture session. */
export function firmwareInstallHandler(
  session: CaptureSession,
  options: FirmwareCommandOptions = {},
): CommandHandler {
  const log = options.log ?? ((): void => undefined);
  let running: string | null = null;
  return async (cmd, ctx: CommandContext): Promise<FirmwareInstallResult> => {
    const parsed = readFirmwareInstallArgs(cmd.args);
    if (!parsed.ok) throw new Error(`firmware.install refused: ${parsed.reason}`);
    const args = parsed.message;
    if (!(session instanceof FpgaTapSession))
      throw new Error(
        `firmware.install refused: this agent captures from ${session.snapshot().source}, not a hardware tap board (fpga:)`,
      );
    const profile = session.profile;
    if (args.board !== profile.id)
      throw new Error(
        `firmware.install refused: the image is for a ${args.board} board; this device's board is a ${profile.id}`,
      );
    if (args.size > profile.firmware.slotBytes)
      throw new Error(
        `firmware.install refused: the image is ${args.size} bytes; a ${profile.id} firmware slot holds ${profile.firmware.slotBytes}`,
      );
    if (running)
      throw new Error(`firmware.install refused: the install of image ${running} is still running`);
    running = args.imageId;
    const throttle = new ProgressThrottle(
      (p) => ctx.progress(p),
      options.progressIntervalMs ?? PROGRESS_INTERVAL_MS,
    );
    try {
      log(`firmware: installing ${args.version} (image ${args.imageId}) on the ${profile.id}`);
      throttle.push({ phase: 'download', bytes: 0, total: args.size });
      const image = await downloadImage(
        args,
        options.downloadTimeoutMs ?? DOWNLOAD_TIMEOUT_MS,
        (bytes) => throttle.push({ phase: 'download', bytes, total: args.size }),
        options.fetch ?? fetch,
      );
      const outcome = await session.installFirmware(image, (p) =>
        throttle.push({
          phase: p.phase,
          bytes: p.bytes,
          total: p.total,
          ...(p.resumedAt !== undefined ? { message: `resumed at byte ${p.resumedAt}` } : {}),
        }),
      );
      log(`firmware: ${outcome.message}`);
      return {
        outcome: outcome.outcome,
        version: outcome.version,
        running: outcome.running,
        previous: outcome.previous,
        resumedAt: outcome.resumedAt,
        rulesRestored: outcome.rulesRestored,
        message: outcome.message,
      };
    } catch (e) {
      log(
        `firmware: ${args.version} (image ${args.imageId}) not installed: ${(e as Error).message}`,
      );
      throw e;
    } finally {
      running = null;
      await throttle.flush();
    }
  };
}

/**
 * GETs the image: no redirects (the URL carries a download token), at most
 * `args.size` bytes within `timeoutMs`, then size and SHA-256 compared with
 * the command's. Errors name the URL without its query (the token).
 */
export async function downloadImage(
  args: FirmwareInstallArgs,
  timeoutMs: number,
  onBytes: (bytes: number) => void,
  fetchImpl: typeof fetch = fetch,
): Promise<Buffer> {
  const where = args.url.replace(/\?.*$/, '');
  const fail = (why: string): Error => new Error(`download of ${where} failed: ${why}`);
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = (): Error => fail(`no complete image within ${timeoutMs / 1000} s`);
  let res: Response;
  try {
    res = await fetchImpl(args.url, { signal, redirect: 'error' });
  } catch (e) {
    throw signal.aborted ? timedOut() : fail((e as Error).message);
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).slice(0, 300);
    throw fail(`HTTP ${res.status}${text ? `: ${text}` : ''}`);
  }
  const length = res.headers.get('content-length');
  if (length !== null && Number(length) !== args.size)
    throw fail(`the server sends ${length} bytes, the command says ${args.size}`);
  if (!res.body) throw fail('no body');
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let received = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > args.size) throw fail(`more than the ${args.size} bytes the command says`);
      hash.update(value);
      chunks.push(Buffer.from(value));
      onBytes(received);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    if (signal.aborted) throw timedOut();
    const message = (e as Error).message;
    throw message.startsWith('download of ') ? e : fail(message);
  }
  if (received !== args.size) throw fail(`got ${received} bytes, the command says ${args.size}`);
  const sha256 = hash.digest('hex');
  if (sha256 !== args.sha256) throw fail(`SHA-256 ${sha256} is not the command's ${args.sha256}`);
  return Buffer.concat(chunks, received);
}
