/** How a new policy version reaches the fleet: a canary set, then waves. */
export interface RolloutStrategy {
  /** Devices in the canary stage (at least 1 when the fleet is not empty). */
  canary: number;
  /** Each later wave as a percentage of the devices left after the canary; the last takes the rest. */
  waves: number[];
  /**
   * Failures allowed per stage before the rollout stops (0: the first error
   * stops it). Devices not reached keep the previous version.
   */
  maxFailuresPerStage: number;
  /** Share of a stage that must report applied (the rest may still be pending) before the next starts, 0..1. */
  successRatio: number;
}

export const DEFAULT_STRATEGY: RolloutStrategy = {
  canary: 1,
  waves: [25, 50, 100],
  maxFailuresPerStage: 0,
  successRatio: 1,
};

export type DeviceOutcome = 'pending' | 'applied' | 'error';

export type RolloutStatus = 'running' | 'paused' | 'completed' | 'failed' | 'aborted';

export interface RolloutSnapshot {
  strategy: RolloutStrategy;
  stages: string[][];
  status: RolloutStatus;
  started: number;
  outcomes: Record<string, DeviceOutcome>;
}

/** What the rollout controller should do next. */
export type RolloutStep =
  | { action: 'push'; stage: number; devices: string[] }
  | { action: 'wait' }
  | { action: 'stop'; status: Exclude<RolloutStatus, 'running' | 'paused'>; reason: string };

/** Splits the targeted devices (in a stable order) into the canary and the waves. */
export function planStages(devices: readonly string[], s: RolloutStrategy): string[][] {
  if (devices.length === 0) return [];
  const canary = Math.max(1, Math.min(s.canary, devices.length));
  const stages = [devices.slice(0, canary)];
  const rest = devices.slice(canary);
  let from = 0;
  s.waves.forEach((percent, i) => {
    const last = i === s.waves.length - 1;
    const to = last
      ? rest.length
      : Math.min(rest.length, Math.max(from + 1, Math.round((rest.length * percent) / 100)));
    if (to > from) stages.push(rest.slice(from, to));
    from = to;
  });
  if (from < rest.length) stages.push(rest.slice(from));
  return stages;
}

/**
 * The rollout state machine, kept free of I/O so it can be tested and
 * replayed: the controller feeds it device outcomes and executes its steps.
 * A stage starts only when the previous one has enough successes; a stage
 * with more failures than allowed stops the rollout (status failed), and the
 * devices it did not reach keep their version.
 */
export class Rollout {
  readonly stages: string[][];
  status: RolloutStatus = 'running';
  /** Stages started so far. */
  started = 0;
  private readonly outcomes = new Map<string, DeviceOutcome>();

  constructor(
    devices: readonly string[],
    readonly strategy: RolloutStrategy = DEFAULT_STRATEGY,
  ) {
    this.stages = planStages(devices, strategy);
  }

  /** A rollout as it was persisted (stages already planned). */
  static resume(saved: RolloutSnapshot): Rollout {
    const r = new Rollout([], saved.strategy);
    r.stages.push(...saved.stages);
    r.status = saved.status;
    r.started = saved.started;
    for (const [d, o] of Object.entries(saved.outcomes)) r.outcomes.set(d, o);
    return r;
  }

  snapshot(): RolloutSnapshot {
    return {
      strategy: this.strategy,
      stages: this.stages,
      status: this.status,
      started: this.started,
      outcomes: Object.fromEntries(this.outcomes),
    };
  }

  record(deviceId: string, outcome: DeviceOutcome): void {
    if (this.outcomes.has(deviceId)) this.outcomes.set(deviceId, outcome);
  }

  pause(): void {
    if (this.status === 'running') this.status = 'paused';
  }

  resume(): void {
    if (this.status === 'paused') this.status = 'running';
  }

  abort(): void {
    if (this.status === 'running' || this.status === 'paused') this.status = 'aborted';
  }

  /** Devices that received the new version (what a roll back must restore). */
  reached(): string[] {
    return this.stages.slice(0, this.started).flat();
  }

  outcome(deviceId: string): DeviceOutcome | undefined {
    return this.outcomes.get(deviceId);
  }

  /** The next step, given the outcomes recorded so far. */
  next(): RolloutStep {
    if (this.status === 'paused') return { action: 'wait' };
    if (this.status !== 'running')
      return { action: 'stop', status: this.status, reason: `rollout ${this.status}` };
    if (this.started > 0) {
      const stage = this.stages[this.started - 1];
      const failures = stage.filter((d) => this.outcomes.get(d) === 'error').length;
      if (failures > this.strategy.maxFailuresPerStage) {
        this.status = 'failed';
        return {
          action: 'stop',
          status: 'failed',
          reason: `stage ${this.started - 1}: ${failures} of ${stage.length} devices failed (allowed ${this.strategy.maxFailuresPerStage})`,
        };
      }
      const applied = stage.filter((d) => this.outcomes.get(d) === 'applied').length;
      if (applied < Math.ceil(stage.length * this.strategy.successRatio)) return { action: 'wait' };
    }
    if (this.started >= this.stages.length) {
      this.status = 'completed';
      return { action: 'stop', status: 'completed', reason: 'every stage applied' };
    }
    const devices = this.stages[this.started];
    for (const d of devices) this.outcomes.set(d, 'pending');
    return { action: 'push', stage: this.started++, devices };
  }
}
