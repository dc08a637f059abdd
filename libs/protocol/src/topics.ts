// The MQTT topic tree: one subtree per device under a root (default
// `netmirror/v1`). Builders validate every segment they put in a topic, so a
// device id can never smuggle a `/`, `+`, `#` or `$` into a filter; the parser
// returns null for anything that is not exactly one of our topics.

export const DEFAULT_ROOT = 'netmirror/v1';

/** Desired-state domains carried on `desired/{domain}` (keys have their own topic). */
export const DESIRED_DOMAINS = ['policy', 'retention'] as const;
export type DesiredDomain = (typeof DESIRED_DOMAINS)[number];

/** Reported-state domains: the desired ones plus `keys` (the key set in effect). */
export const REPORTED_DOMAINS = ['policy', 'retention', 'keys'] as const;
export type ReportedDomain = (typeof REPORTED_DOMAINS)[number];

const SEGMENT = /^[A-Za-z0-9_.-]{1,64}$/;

/** Device ids, command names and requester ids share one shape: `[A-Za-z0-9_.-]{1,64}`. */
export function isValidSegment(s: unknown): s is string {
  return typeof s === 'string' && SEGMENT.test(s);
}
export const isValidDeviceId = isValidSegment;

export type ParsedTopic =
  | { deviceId: string; kind: 'desired'; domain: DesiredDomain }
  | { deviceId: string; kind: 'reported'; domain: ReportedDomain }
  | { deviceId: string; kind: 'keys' | 'status' | 'telemetry' | 'alerts' }
  | { deviceId: string; kind: 'cmd'; name: string }
  | { deviceId: string; kind: 'response'; requester: string };

export type TopicKind = ParsedTopic['kind'];

/** The fleet side's streams, each a wildcard over all devices. */
export type FleetStream = 'reported' | 'status' | 'telemetry' | 'alerts';

function need(s: string, what: string): string {
  if (!isValidSegment(s))
    throw new TypeError(`invalid ${what} ${JSON.stringify(s)}: expected [A-Za-z0-9_.-]{1,64}`);
  return s;
}

export class TopicTree {
  readonly root: string;
  private readonly depth: number;

  constructor(root: string = DEFAULT_ROOT) {
    const parts = root.split('/');
    if (root.startsWith('$') || parts.some((p) => !isValidSegment(p))) {
      throw new TypeError(`invalid topic root ${JSON.stringify(root)}`);
    }
    this.root = root;
    this.depth = parts.length;
  }

  desired(deviceId: string, domain: DesiredDomain): string {
    return `${this.device(deviceId)}/desired/${domain}`;
  }
  keys(deviceId: string): string {
    return `${this.device(deviceId)}/keys`;
  }
  reported(deviceId: string, domain: ReportedDomain): string {
    return `${this.device(deviceId)}/reported/${domain}`;
  }
  status(deviceId: string): string {
    return `${this.device(deviceId)}/status`;
  }
  telemetry(deviceId: string): string {
    return `${this.device(deviceId)}/telemetry`;
  }
  alerts(deviceId: string): string {
    return `${this.device(deviceId)}/alerts`;
  }
  command(deviceId: string, name: string): string {
    return `${this.device(deviceId)}/cmd/${need(name, 'command name')}`;
  }
  /** Where `requester` (a fleet-manager replica) wants responses from `deviceId`. */
  response(deviceId: string, requester: string): string {
    return `${this.device(deviceId)}/response/${need(requester, 'requester id')}`;
  }

  /** What a device subscribes to: its desired state and its key deliveries. */
  deviceInboxFilters(deviceId: string): string[] {
    return [`${this.device(deviceId)}/desired/+`, this.keys(deviceId)];
  }
  deviceCommandFilter(deviceId: string): string {
    return `${this.device(deviceId)}/cmd/+`;
  }
  /** A fleet stream over all devices; `+` stands for the device id. */
  fleetFilter(stream: FleetStream): string {
    return stream === 'reported' ? `${this.root}/+/reported/+` : `${this.root}/+/${stream}`;
  }
  /** Responses to `requester`'s commands, from any device. Never shared: each replica gets its own. */
  responseFilter(requester: string): string {
    return `${this.root}/+/response/${need(requester, 'requester id')}`;
  }

  parse(topic: string): ParsedTopic | null {
    if (typeof topic !== 'string' || !topic.startsWith(`${this.root}/`)) return null;
    const rest = topic.split('/').slice(this.depth);
    const [deviceId, kind, arg, ...extra] = rest;
    if (!isValidSegment(deviceId) || extra.length > 0) return null;
    if (arg === undefined) {
      if (kind === 'keys' || kind === 'status' || kind === 'telemetry' || kind === 'alerts') {
        return { deviceId, kind };
      }
      return null;
    }
    if (kind === 'desired' && (DESIRED_DOMAINS as readonly string[]).includes(arg)) {
      return { deviceId, kind, domain: arg as DesiredDomain };
    }
    if (kind === 'reported' && (REPORTED_DOMAINS as readonly string[]).includes(arg)) {
      return { deviceId, kind, domain: arg as ReportedDomain };
    }
    if (kind === 'cmd' && isValidSegment(arg)) return { deviceId, kind, name: arg };
    if (kind === 'response' && isValidSegment(arg)) return { deviceId, kind, requester: arg };
    return null;
  }

  private device(deviceId: string): string {
    return `${this.root}/${need(deviceId, 'device id')}`;
  }
}

/** The production tree, rooted at `netmirror/v1`. */
export const topics: TopicTree = new TopicTree();

export function parseTopic(topic: string): ParsedTopic | null {
  return topics.parse(topic);
}

/** A shared-subscription filter (MQTT 5): replicas in `group` split the messages. */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${need(group, 'share group')}/${filter}`;
}
