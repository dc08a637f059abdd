import { enrollDevice, EnrollmentError, newEnrollmentCandidate } from './enroll.js';
import type { EnrollmentCandidate, EnrollmentRequest } from './enroll.js';
import type { DeviceIdentity, IdentityStore } from './identity-store.js';

export interface RetryOptions {
  /** Stops the retries (the agent is shutting down): the promise rejects with EnrollmentAborted. */
  signal?: AbortSignal;
  /** One line per event worth a line (bounded: see BoundedFailureLog). */
  log: (line: string) => void;
  /** The same device id and keys for every attempt (default: a new candidate). */
  candidate?: EnrollmentCandidate;
  /** An attempt the caller already made and that failed: start by waiting. */
  previousFailure?: EnrollmentError;
  /** Backoff from minDelayMs, doubling up to maxDelayMs, with ±20 % jitter (1 s → 60 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** An unchanged failure is logged again only after this long (default 5 min). */
  quietMs?: number;
}

export class EnrollmentAborted extends Error {
  override name = 'EnrollmentAborted';
}

/**
 * Enrolls, retrying while the fleet manager is unreachable or failing, with
 * exponential backoff. Resolves with the stored identity; rejects with the
 * first EnrollmentError that retrying cannot fix (a refused token, a CA that
 * is not the pinned one), or EnrollmentAborted.
 */
export async function enrollWithRetry(
  request: EnrollmentRequest,
  store: IdentityStore,
  options: RetryOptions,
): Promise<DeviceIdentity> {
  const candidate = options.candidate ?? newEnrollmentCandidate();
  const failures = new BoundedFailureLog(options.log, options.quietMs ?? 5 * 60_000);
  const minMs = options.minDelayMs ?? 1000;
  const maxMs = options.maxDelayMs ?? 60_000;
  let delayMs = minMs;
  if (options.previousFailure) {
    failures.failed(options.previousFailure.message, delayMs);
    await sleep(jitter(delayMs), options.signal);
    delayMs = Math.min(delayMs * 2, maxMs);
  }
  for (;;) {
    if (options.signal?.aborted) throw new EnrollmentAborted('enrollment stopped');
    try {
      const identity = await enrollDevice(request, store, candidate);
      failures.succeeded();
      return identity;
    } catch (err) {
      if (!(err instanceof EnrollmentError) || !err.retryable) throw err;
      failures.failed(err.message, delayMs);
    }
    await sleep(jitter(delayMs), options.signal);
    delayMs = Math.min(delayMs * 2, maxMs);
  }
}

/**
 * Keeps a fleet manager that is down for hours from filling the log: the
 * first failure is logged, then only a changed reason or, at most every
 * `quietMs`, a reminder with the number of attempts in between.
 */
export class BoundedFailureLog {
  private lastReason: string | null = null;
  private lastLoggedAt = 0;
  private suppressed = 0;
  private attempts = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly quietMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  failed(reason: string, retryInMs: number): void {
    this.attempts++;
    const t = this.now();
    if (reason === this.lastReason && t - this.lastLoggedAt < this.quietMs) {
      this.suppressed++;
      return;
    }
    const more =
      this.suppressed > 0 ? ` (${this.suppressed} more failed attempts since the last line)` : '';
    this.log(`enrollment: ${reason}; retrying in ${duration(retryInMs)}${more}`);
    this.lastReason = reason;
    this.lastLoggedAt = t;
    this.suppressed = 0;
  }

  succeeded(): void {
    if (this.attempts > 0) this.log(`enrollment: succeeded after ${this.attempts + 1} attempts`);
  }
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new EnrollmentAborted('enrollment stopped'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new EnrollmentAborted('enrollment stopped'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
