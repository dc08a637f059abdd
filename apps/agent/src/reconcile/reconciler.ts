import { validateRetention, validateRuleSet } from '@netmirror/rules';
import type { CaptureSession } from '../pipeline/index.js';
import { openSink, RecorderSink } from '../sinks/index.js';
import type { RetentionSettings, Sink } from '../sinks/index.js';
import type { AppliedStates, StateStore, VersionedState } from './state-store.js';

/** The `policy` domain: a rules document (destinations + rules) and an optional capture filter. */
export interface PolicySpec {
  destinations: Record<string, string>;
  rules: unknown[];
  filter?: string;
}

/** The outcome the agent reports: what is in effect now, or why the new state is not. */
export type ApplyResult =
  | { status: 'applied'; version: number; hash: string }
  | { status: 'error'; version: number; hash: string; error: string };

/**
 * Turns desired state into running state; the only writer of "applied".
 * A policy is validated, its new destinations opened and the running session
 * switched between two batches before it counts as applied; anything that
 * fails leaves the previous state running and is reported as an error.
 * Destinations whose URI is unchanged are kept open across a change (a
 * recording goes on in the same file).
 */
export class Reconciler {
  private states: AppliedStates;
  private sinksByUri = new Map<string, Sink>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly session: CaptureSession,
    private readonly store: StateStore,
  ) {
    this.states = store.load();
  }

  /** The state in effect (or restored from disk), per domain. */
  get applied(): AppliedStates {
    return { ...this.states };
  }

  /** Re-applies what was in effect before a restart; returns the outcomes. */
  async restore(): Promise<ApplyResult[]> {
    const results: ApplyResult[] = [];
    const saved = this.store.load();
    this.states = {};
    for (const domain of ['policy', 'retention'] as const) {
      const s = saved[domain];
      if (s) results.push(await this.apply(domain, s, { force: true }));
    }
    return results;
  }

  /** Applies one domain's desired state (serialised: one change at a time). */
  apply(
    domain: string,
    desired: VersionedState,
    options: { force?: boolean } = {},
  ): Promise<ApplyResult> {
    const run = this.queue.then(() => this.applyNow(domain, desired, options.force === true));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(
    domain: string,
    desired: VersionedState,
    force: boolean,
  ): Promise<ApplyResult> {
    const current = this.states[domain];
    const fail = (error: string): ApplyResult => ({
      status: 'error',
      version: desired.version,
      hash: desired.hash,
      error,
    });
    if (!force && current && desired.version <= current.version) {
      return fail(`version ${desired.version} is not newer than the applied ${current.version}`);
    }
    try {
      if (domain === 'policy') await this.applyPolicy(desired.spec as PolicySpec);
      else if (domain === 'retention') this.applyRetention(desired.spec);
      else return fail(`unknown domain "${domain}"`);
    } catch (err) {
      return fail((err as Error).message);
    }
    this.states = { ...this.states, [domain]: desired };
    this.store.save(this.states);
    return { status: 'applied', version: desired.version, hash: desired.hash };
  }

  private async applyPolicy(spec: PolicySpec): Promise<void> {
    if (typeof spec !== 'object' || spec === null) throw new Error('policy: expected an object');
    const ruleSet = validateRuleSet({ destinations: spec.destinations ?? {}, rules: spec.rules });
    const sinks = new Map<string, Sink>();
    const byUri = new Map<string, Sink>();
    for (const [name, uri] of Object.entries(ruleSet.destinations)) {
      const sink = this.sinksByUri.get(uri) ?? byUri.get(uri) ?? openSink(name, uri);
      byUri.set(uri, sink);
      sinks.set(name, sink);
    }
    const all = [...new Set(sinks.values())];
    await this.session.reconfigure({ ruleSet, sinks, defaultSinks: all, filter: spec.filter });
    this.sinksByUri = byUri;
    const retention = this.states.retention?.spec as Partial<RetentionSettings> | undefined;
    if (retention) for (const s of all) if (s instanceof RecorderSink) s.setRetention(retention);
  }

  /** Checked by the same code the fleet manager runs on input (libs/rules). */
  private applyRetention(spec: unknown): void {
    const settings = validateRetention(spec);
    for (const s of this.sinksByUri.values())
      if (s instanceof RecorderSink) s.setRetention(settings);
  }
}
