import { compileBpf } from '@netmirror/native';
import { createRequire } from 'node:module';
import { parsePrefix } from './address.js';
import { parseDestination } from './destination.js';
import { parsePorts } from './ports.js';
import { protocolNumber } from './protocols.js';
import type { MirrorRule, RuleAction, RuleError, RuleSet, RuleTransforms } from './types.js';

const require = createRequire(import.meta.url);

/** YAML is loaded on first use: it is most of the command's start-up time otherwise. */
function parseYaml(text: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** Thrown by `parseRuleSet` with every problem found, each naming the rule and field. */
export class RuleSetError extends Error {
  constructor(readonly errors: RuleError[]) {
    super(
      `invalid rules:\n${errors.map((e) => `  ${e.where} ${e.field}: ${e.message}`).join('\n')}`,
    );
    this.name = 'RuleSetError';
  }
}

const RULE_KEYS = new Set(['name', 'priority', 'action', 'match', 'transforms', 'destinations']);
const MATCH_KEYS = new Set([
  'protocol',
  'src',
  'dst',
  'host',
  'srcPort',
  'dstPort',
  'port',
  'vlan',
  'bpf',
]);
const TRANSFORM_KEYS = new Set(['slice', 'sample', 'dedup', 'stripVlan']);
/** Smallest slice that still keeps an Ethernet header. */
const MIN_SLICE = 14;

/** Parses a rules file (YAML, of which JSON is a subset) and validates it. */
export function parseRuleSet(text: string, origin = 'rules'): RuleSet {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new RuleSetError([{ where: origin, field: '(file)', message: (err as Error).message }]);
  }
  return validateRuleSet(doc);
}

/** Validates an already-parsed rule set (from a file, an API or the fleet manager). */
export function validateRuleSet(doc: unknown): RuleSet {
  const errors: RuleError[] = [];
  if (!isObject(doc)) {
    throw new RuleSetError([
      { where: '(top level)', field: '', message: 'expected a mapping with "rules"' },
    ]);
  }
  for (const key of Object.keys(doc)) {
    if (key !== 'rules' && key !== 'destinations' && key !== 'version') {
      errors.push({ where: '(top level)', field: key, message: 'unknown field' });
    }
  }
  const destinations = validateDestinations(doc.destinations, errors);
  const rulesIn = doc.rules;
  const rules: MirrorRule[] = [];
  if (!Array.isArray(rulesIn)) {
    errors.push({ where: '(top level)', field: 'rules', message: 'expected a list of rules' });
  } else {
    rulesIn.forEach((r, i) => {
      const rule = validateRule(r, i, errors);
      if (rule) rules.push(rule);
    });
  }
  checkPriorities(rules, errors);
  for (const rule of rules) {
    for (const d of rule.destinations) {
      if (!(d in destinations) && !isDefaultDestinationName(d)) {
        errors.push({
          where: ruleLabel(rule),
          field: 'destinations',
          message: `unknown destination "${d}"`,
        });
      }
    }
  }
  if (errors.length > 0) throw new RuleSetError(errors);
  rules.sort((a, b) => a.priority - b.priority);
  return { destinations, rules };
}

/** Names the CLI gives its `--to` destinations (to1, to2, ...), usable from a rules file. */
export function isDefaultDestinationName(name: string): boolean {
  return /^to\d+$/.test(name);
}

function validateDestinations(value: unknown, errors: RuleError[]): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    errors.push({
      where: '(top level)',
      field: 'destinations',
      message: 'expected a mapping name -> URI',
    });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, uri] of Object.entries(value)) {
    if (typeof uri !== 'string' || uri.length === 0) {
      errors.push({
        where: `destinations.${name}`,
        field: '',
        message: 'expected a destination URI',
      });
    } else if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      errors.push({
        where: `destinations.${name}`,
        field: '',
        message: 'names use letters, digits, _ . -',
      });
    } else {
      try {
        parseDestination(uri);
        out[name] = uri;
      } catch (err) {
        errors.push({ where: `destinations.${name}`, field: '', message: (err as Error).message });
      }
    }
  }
  return out;
}

function validateRule(r: unknown, index: number, errors: RuleError[]): MirrorRule | null {
  const fallbackWhere = `rules[${index}]`;
  if (!isObject(r)) {
    errors.push({ where: fallbackWhere, field: '', message: 'expected a mapping' });
    return null;
  }
  const name = typeof r.name === 'string' && r.name !== '' ? r.name : `rule-${index + 1}`;
  const where = `rules[${index}] "${name}"`;
  const bad = (field: string, message: string): void => {
    errors.push({ where, field, message });
  };
  for (const key of Object.keys(r)) if (!RULE_KEYS.has(key)) bad(key, 'unknown field');
  if (r.name !== undefined && typeof r.name !== 'string') bad('name', 'expected a string');

  const priority = r.priority;
  if (
    typeof priority !== 'number' ||
    !Number.isInteger(priority) ||
    priority < 0 ||
    priority > 0xffff
  ) {
    bad('priority', 'expected an integer 0-65535 (lower is evaluated first)');
  }
  const action = r.action ?? 'mirror';
  if (action !== 'mirror' && action !== 'skip')
    bad('action', `"${String(action)}" is not mirror or skip`);

  const match = isObject(r.match) ? r.match : {};
  if (r.match !== undefined && !isObject(r.match)) bad('match', 'expected a mapping');
  validateMatch(match, bad);

  const transforms = isObject(r.transforms) ? r.transforms : {};
  if (r.transforms !== undefined && !isObject(r.transforms))
    bad('transforms', 'expected a mapping');
  validateTransforms(transforms, bad);

  const destinations = r.destinations ?? [];
  if (!Array.isArray(destinations) || !destinations.every((d) => typeof d === 'string')) {
    bad('destinations', 'expected a list of destination names');
  }
  return {
    name,
    priority: priority as number,
    action: action as RuleAction,
    match: match as MirrorRule['match'],
    transforms: transforms as RuleTransforms,
    destinations: Array.isArray(destinations) ? (destinations as string[]) : [],
  };
}

function validateMatch(
  m: Record<string, unknown>,
  bad: (field: string, message: string) => void,
): void {
  for (const key of Object.keys(m)) if (!MATCH_KEYS.has(key)) bad(`match.${key}`, 'unknown field');
  if (m.protocol !== undefined && protocolNumber(m.protocol) === undefined) {
    bad('match.protocol', `"${String(m.protocol)}" is not a protocol name or number 0-255`);
  }
  for (const field of ['src', 'dst', 'host'] as const) {
    const v = m[field];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) bad(`match.${field}`, 'empty list');
    for (const item of list) {
      const p = typeof item === 'string' ? parsePrefix(item) : 'expected an address or CIDR string';
      if (typeof p === 'string') bad(`match.${field}`, p);
    }
  }
  for (const field of ['srcPort', 'dstPort', 'port'] as const) {
    if (m[field] === undefined) continue;
    const p = parsePorts(m[field]);
    if (typeof p === 'string') bad(`match.${field}`, p);
  }
  if (m.vlan !== undefined) {
    const list = Array.isArray(m.vlan) ? m.vlan : [m.vlan];
    if (
      list.length === 0 ||
      !list.every((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 4095)
    ) {
      bad('match.vlan', 'expected VLAN ids 0-4095');
    }
  }
  if (m.bpf !== undefined) {
    if (typeof m.bpf !== 'string') bad('match.bpf', 'expected a pcap-filter expression');
    else {
      try {
        compileBpf(m.bpf, 1);
      } catch (err) {
        bad('match.bpf', (err as Error).message);
      }
    }
  }
}

function validateTransforms(
  t: Record<string, unknown>,
  bad: (field: string, message: string) => void,
): void {
  for (const key of Object.keys(t))
    if (!TRANSFORM_KEYS.has(key)) bad(`transforms.${key}`, 'unknown field');
  if (
    t.slice !== undefined &&
    !(Number.isInteger(t.slice) && (t.slice as number) >= MIN_SLICE && (t.slice as number) <= 65535)
  ) {
    bad('transforms.slice', `expected bytes to keep, ${MIN_SLICE}-65535`);
  }
  if (t.sample !== undefined && !(Number.isInteger(t.sample) && (t.sample as number) >= 1)) {
    bad('transforms.sample', 'expected N >= 1 (copy one frame in N)');
  }
  if (t.dedup !== undefined && typeof t.dedup !== 'boolean') {
    const w = isObject(t.dedup) ? t.dedup.windowMs : undefined;
    if (!(typeof w === 'number' && w > 0 && w <= 60_000))
      bad('transforms.dedup', 'expected true or { windowMs: 1-60000 }');
  }
  if (t.stripVlan !== undefined && typeof t.stripVlan !== 'boolean')
    bad('transforms.stripVlan', 'expected true or false');
}

function checkPriorities(rules: MirrorRule[], errors: RuleError[]): void {
  const seen = new Map<number, MirrorRule>();
  for (const rule of rules) {
    const other = seen.get(rule.priority);
    if (other) {
      errors.push({
        where: ruleLabel(rule),
        field: 'priority',
        message: `${rule.priority} is also the priority of "${other.name}"; priorities must be unique so the order is unambiguous`,
      });
    } else seen.set(rule.priority, rule);
  }
}

function ruleLabel(rule: MirrorRule): string {
  return `rule "${rule.name}"`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
