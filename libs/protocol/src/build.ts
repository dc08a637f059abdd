// Builders that fill in `v`, `type`, hashes and times, so a sender cannot get
// them wrong.
import { contentHash } from './canonical.js';
import type {
  DesiredState,
  JsonObject,
  KeyDelivery,
  ReportedState,
  WrappedKey,
} from './messages.js';
import type { DesiredDomain, ReportedDomain } from './topics.js';

export function buildDesired(
  domain: DesiredDomain,
  version: number,
  spec: JsonObject,
  issuedAt: number = Date.now(),
): DesiredState {
  return { v: 1, type: 'desired', domain, version, hash: contentHash(spec), spec, issuedAt };
}

export function buildKeyDelivery(
  version: number,
  keys: WrappedKey[],
  issuedAt: number = Date.now(),
): KeyDelivery {
  return { v: 1, type: 'keys', version, hash: contentHash(keys), keys, issuedAt };
}

/** "This version is in effect": the state now running. */
export function buildAppliedReport(
  domain: ReportedDomain,
  state: { version: number; hash: string },
  appliedAt: number = Date.now(),
): ReportedState {
  return {
    v: 1,
    type: 'reported',
    domain,
    version: state.version,
    hash: state.hash,
    status: 'applied',
    appliedAt,
  };
}

/**
 * "The new state was refused": it names what still runs (0/null before
 * anything was applied), why, and, when the refused message was readable,
 * its version.
 */
export function buildErrorReport(
  domain: ReportedDomain,
  running: { version: number; hash: string | null } | undefined,
  error: string,
  rejectedVersion?: number,
  appliedAt: number = Date.now(),
): ReportedState {
  return {
    v: 1,
    type: 'reported',
    domain,
    version: running?.version ?? 0,
    hash: running?.hash ?? null,
    status: 'error',
    error,
    ...(rejectedVersion !== undefined ? { rejectedVersion } : {}),
    appliedAt,
  };
}
