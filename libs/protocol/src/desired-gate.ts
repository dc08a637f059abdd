// The agent's admission check for desired state and key deliveries, as pure
// logic: a message is accepted only if its version is above the one in effect
// for its domain and its hash matches its content. The reconcile side calls
// markApplied once a version is really in effect; until then the gate keeps
// judging against the previous one.
import { contentHash } from './canonical.js';
import type { DesiredState, KeyDelivery } from './messages.js';
import type { ReportedDomain } from './topics.js';

export interface AppliedVersion {
  version: number;
  hash: string;
}

/**
 * `duplicate`: the version in effect arrived again with the same hash (a
 * retained message redelivered after a reconnect): ignore it quietly.
 * The other kinds deserve a reported error.
 */
export type GateRejection = 'duplicate' | 'stale' | 'conflict' | 'hash-mismatch';

export type GateResult =
  | { ok: true; domain: ReportedDomain }
  | { ok: false; domain: ReportedDomain; kind: GateRejection; reason: string };

export class DesiredStateGate {
  private readonly applied = new Map<ReportedDomain, AppliedVersion>();

  constructor(applied: Partial<Record<ReportedDomain, AppliedVersion>> = {}) {
    for (const [domain, v] of Object.entries(applied) as [
      ReportedDomain,
      AppliedVersion | undefined,
    ][]) {
      if (v) this.applied.set(domain, { ...v });
    }
  }

  check(message: DesiredState | KeyDelivery): GateResult {
    const domain: ReportedDomain = message.type === 'keys' ? 'keys' : message.domain;
    const current = this.applied.get(domain);
    const have = current?.version ?? 0;
    if (message.version < have) {
      return {
        ok: false,
        domain,
        kind: 'stale',
        reason: `${domain} version ${message.version} is older than version ${have} in effect`,
      };
    }
    if (current && message.version === have) {
      return current.hash === message.hash
        ? {
            ok: false,
            domain,
            kind: 'duplicate',
            reason: `${domain} version ${have} is already in effect`,
          }
        : {
            ok: false,
            domain,
            kind: 'conflict',
            reason: `${domain} version ${have} is in effect with hash ${current.hash}, got ${message.hash}`,
          };
    }
    const actual = contentHash(message.type === 'keys' ? message.keys : message.spec);
    if (actual !== message.hash) {
      return {
        ok: false,
        domain,
        kind: 'hash-mismatch',
        reason: `${domain} version ${message.version}: hash ${message.hash} does not match content (${actual})`,
      };
    }
    return { ok: true, domain };
  }

  markApplied(domain: ReportedDomain, applied: AppliedVersion): void {
    const have = this.applied.get(domain)?.version ?? 0;
    if (applied.version <= have) {
      throw new RangeError(
        `${domain}: cannot mark version ${applied.version} applied over ${have}`,
      );
    }
    this.applied.set(domain, { ...applied });
  }

  current(domain: ReportedDomain): AppliedVersion | undefined {
    const v = this.applied.get(domain);
    return v ? { ...v } : undefined;
  }

  snapshot(): Partial<Record<ReportedDomain, AppliedVersion>> {
    return Object.fromEntries([...this.applied].map(([d, v]) => [d, { ...v }]));
  }
}
