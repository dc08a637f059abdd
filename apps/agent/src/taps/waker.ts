/** The longest a live tap's `ready()` promise waits, so the session notices a stop on a quiet link. */
const WAKE_MS = 100;

/**
 * The promise a live tap's `ready()` returns while it has nothing: settled by
 * the socket's readiness callback (armed through `arm`, e.g. `pollRing`) or
 * after WAKE_MS, whichever comes first. One is shared until it settles.
 */
export class Waker {
  private pending: Promise<void> | null = null;

  constructor(private readonly arm: (callback: () => void) => void) {}

  wait(): Promise<void> {
    if (this.pending !== null) return this.pending;
    const pending: Promise<void> = new Promise<void>((resolve) => {
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (this.pending === pending) this.pending = null;
        resolve();
      };
      const timer = setTimeout(finish, WAKE_MS);
      this.arm(finish); // re-arming replaces a callback still armed from an earlier wait
    });
    this.pending = pending;
    return pending;
  }
}
