import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { BpfFilter, validateRetention, validateRuleSet, RuleSetError } from '@netmirror/rules';
import type { JsonObject } from '@netmirror/protocol';
import { Fields, FieldError } from '../../common/validation.js';
import { strictLabels } from '../../devices/labels.js';
import type { Labels } from '../../devices/device.entity.js';
import { POLICY_DOMAINS, type Policy, type PolicyDomain } from '../policy.entity.js';
import type { PolicyVersion } from '../policy-version.entity.js';

export const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_SPEC_BYTES = 128 * 1024;

const labelsSchema = {
  type: 'object',
  additionalProperties: { type: 'string' },
  example: { role: 'core' },
} as const;

export class CreatePolicyDto {
  @ApiProperty({ type: String, pattern: POLICY_NAME.source, example: 'core-web' }) name!: string;
  @ApiProperty({ enum: POLICY_DOMAINS }) domain!: PolicyDomain;
  @ApiProperty({ ...labelsSchema, description: 'every label must match; {} = every device' })
  targetLabels!: Labels;
  @ApiProperty({ type: Number, required: false, description: 'higher wins; default 0' })
  priority?: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'policy: {destinations, rules, filter?} (the rules-file format); retention: {fileBytes?, fileSeconds?, maxAgeSeconds?, maxTotalBytes?}',
  })
  spec!: JsonObject;
  @ApiProperty({ type: String, required: false }) comment?: string;
}

export class UpdatePolicyDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  targetLabels?: Labels;
  @ApiProperty({ type: Number, required: false }) priority?: number;
}

export class CreateVersionDto {
  @ApiProperty({ type: 'object', additionalProperties: true }) spec!: JsonObject;
  @ApiProperty({ type: String, required: false }) comment?: string;
}

export class PolicyDto {
  @ApiProperty({ type: String }) name!: string;
  @ApiProperty({ enum: POLICY_DOMAINS }) domain!: PolicyDomain;
  @ApiProperty(labelsSchema) targetLabels!: Labels;
  @ApiProperty({ type: Number }) priority!: number;
  @ApiProperty({ type: Number }) latestVersion!: number;
  @ApiProperty({ type: Number, nullable: true }) deployedVersion!: number | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
}

export class PolicyVersionDto {
  @ApiProperty({ type: String }) policy!: string;
  @ApiProperty({ type: Number }) version!: number;
  @ApiProperty({ type: String, description: 'content hash devices report back' }) hash!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) spec!: JsonObject;
  @ApiProperty({ type: String, nullable: true }) comment!: string | null;
  @ApiProperty({ type: String }) createdBy!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export const toPolicyDto = (p: Policy): PolicyDto => ({ ...p });
export const toPolicyVersionDto = (v: PolicyVersion): PolicyVersionDto => ({ ...v });

/**
 * Checks a spec with the same code the agent runs (libs/rules), so a policy
 * that reaches a device is one it can parse; what only the device can know
 * (a directory it cannot write, an address it cannot reach) it reports back.
 */
export function parseSpec(domain: PolicyDomain, input: unknown, field = 'spec'): JsonObject {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new FieldError(field, 'must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(input)) > MAX_SPEC_BYTES)
    throw new FieldError(field, `larger than ${MAX_SPEC_BYTES} bytes`);
  const spec = input as JsonObject;
  if (domain === 'retention') {
    try {
      validateRetention(spec);
    } catch (e) {
      throw new FieldError(field, (e as Error).message);
    }
    return spec;
  }
  const { filter, ...rules } = spec;
  try {
    validateRuleSet(rules);
  } catch (e) {
    if (e instanceof RuleSetError)
      throw new FieldError(
        field,
        e.errors.map((x) => `${x.where} ${x.field}: ${x.message}`).join('; '),
      );
    throw new FieldError(field, (e as Error).message);
  }
  if (filter !== undefined) {
    if (typeof filter !== 'string') throw new FieldError(`${field}.filter`, 'must be a string');
    try {
      new BpfFilter(filter, 1).program(1); // compiled by libpcap, as on the device (Ethernet)
    } catch (e) {
      throw new FieldError(`${field}.filter`, (e as Error).message);
    }
  }
  return spec;
}

function priority(f: Fields): number | undefined {
  return f.has('priority') ? f.integer('priority', -1000, 1000) : undefined;
}

export function parseCreatePolicy(input: unknown): CreatePolicyDto {
  const f = new Fields(input, '', [
    'name',
    'domain',
    'targetLabels',
    'priority',
    'spec',
    'comment',
  ]);
  const name = f.string('name', {
    max: 64,
    pattern: POLICY_NAME,
    hint: 'must be 1..64 of a-z 0-9 . _ - starting with a letter or digit',
  });
  const domain = f.string('domain', { max: 16 }) as PolicyDomain;
  if (!POLICY_DOMAINS.includes(domain))
    throw new FieldError('domain', `must be one of ${POLICY_DOMAINS.join(', ')}`);
  const targetLabels = strictLabels(f.raw('targetLabels') ?? {}, 'targetLabels');
  return {
    name,
    domain,
    targetLabels,
    priority: priority(f),
    spec: parseSpec(domain, f.raw('spec')),
    comment: f.optionalString('comment', { max: 1000 }),
  };
}

export function parseUpdatePolicy(input: unknown): UpdatePolicyDto {
  const f = new Fields(input, '', ['targetLabels', 'priority']);
  const out: UpdatePolicyDto = {};
  if (f.has('targetLabels')) out.targetLabels = strictLabels(f.raw('targetLabels'), 'targetLabels');
  const p = priority(f);
  if (p !== undefined) out.priority = p;
  if (Object.keys(out).length === 0)
    throw new FieldError('body', 'nothing to change: give targetLabels or priority');
  return out;
}

/** The spec is checked by the service, which knows the policy's domain. */
export function parseCreateVersion(input: unknown): { spec: unknown; comment?: string } {
  const f = new Fields(input, '', ['spec', 'comment']);
  if (!f.has('spec')) throw new FieldError('spec', 'is required');
  return { spec: f.raw('spec'), comment: f.optionalString('comment', { max: 1000 }) };
}
