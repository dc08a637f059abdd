// Builders that fill in `v`, `type`, hashes and times, so a sender cannot get
// them wrong.
import { contentHash } from './canonical.js';
import type { DesiredState, JsonObject, KeyDelivery, WrappedKey } from './messages.js';
import type { DesiredDomain } from './topics.js';

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
