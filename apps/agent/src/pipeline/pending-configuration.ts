import type { MirrorConfig } from './mirror-session.js';

/** A configuration waiting to be put in force, and how to tell its caller the outcome. */
export interface Pending {
  config: MirrorConfig;
  done: (err?: Error) => void;
}

/**
 * The one configuration a session has yet to apply: a newer one supersedes
 * it (its caller is told so), and once the session has ended every offer is
 * refused.
 */
export class PendingConfiguration {
  private slot: Pending | null = null;
  private closed = false;

  /** Resolves once the session calls `done()` on what `take()` handed it; rejects with its error. */
  offer(config: MirrorConfig): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the mirror session has ended'));
    this.slot?.done(new Error('superseded by a newer configuration'));
    return new Promise((resolve, reject) => {
      this.slot = { config, done: (err) => (err ? reject(err) : resolve()) };
    });
  }

  get waiting(): boolean {
    return this.slot !== null;
  }

  /** The waiting configuration, now the caller's to apply, or null. */
  take(): Pending | null {
    const p = this.slot;
    this.slot = null;
    return p;
  }

  /** The session has ended: what waits is refused, and so is every later offer. */
  close(): void {
    this.closed = true;
    this.take()?.done(new Error('the mirror session has ended'));
  }
}
