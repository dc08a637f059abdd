import { ApiProperty } from '@nestjs/swagger';
import { Fields, FieldError } from '../../common/validation.js';
import { POLICY_NAME } from '../../policies/dto/policy.dto.js';
import type { RolloutRecord, RolloutRecordStatus } from '../rollout.entity.js';
import { DEFAULT_STRATEGY, type RolloutStrategy } from '../rollout-plan.js';

const STATUSES: RolloutRecordStatus[] = [
  'running',
  'paused',
  'completed',
  'failed',
  'aborted',
  'rolled-back',
];

export class RolloutStrategyDto {
  @ApiProperty({ type: Number, description: 'devices in the canary stage', example: 1 })
  canary!: number;
  @ApiProperty({
    type: [Number],
    description: 'later waves, % of the devices left after the canary',
    example: [25, 50, 100],
  })
  waves!: number[];
  @ApiProperty({ type: Number, description: 'failures allowed per stage before the rollout stops' })
  maxFailuresPerStage!: number;
  @ApiProperty({
    type: Number,
    description: 'share of a stage that must apply before the next, 0..1',
  })
  successRatio!: number;
}

export class StartRolloutDto {
  @ApiProperty({ type: String }) policy!: string;
  @ApiProperty({ type: Number }) version!: number;
  @ApiProperty({ type: RolloutStrategyDto, required: false }) strategy?: RolloutStrategy;
}

export class DeployDto {
  @ApiProperty({ type: Number }) version!: number;
}

export class RolloutDeviceDto {
  @ApiProperty({ type: String }) deviceId!: string;
  @ApiProperty({ enum: ['waiting', 'pending', 'applied', 'error'] }) outcome!: string;
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
}

export class RolloutStageDto {
  @ApiProperty({ type: Number }) index!: number;
  @ApiProperty({ type: [RolloutDeviceDto] }) devices!: RolloutDeviceDto[];
}

export class RolloutDto {
  @ApiProperty({ type: String }) id!: string;
  @ApiProperty({ type: String }) policy!: string;
  @ApiProperty({ enum: ['policy', 'retention'] }) domain!: string;
  @ApiProperty({ type: Number }) version!: number;
  @ApiProperty({ type: Number, nullable: true }) previousVersion!: number | null;
  @ApiProperty({ enum: STATUSES }) status!: RolloutRecordStatus;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: RolloutStrategyDto }) strategy!: RolloutStrategy;
  @ApiProperty({ type: [RolloutStageDto] }) stages!: RolloutStageDto[];
  @ApiProperty({ type: String }) createdBy!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
}

export function toRolloutDto(r: RolloutRecord): RolloutDto {
  const { outcomes, stages, started: _s, revision: _r, ...rest } = r;
  return {
    ...rest,
    stages: stages.map((devices, index) => ({
      index,
      devices: devices.map((deviceId) => ({
        deviceId,
        outcome: outcomes[deviceId]?.outcome ?? 'waiting',
        error: outcomes[deviceId]?.error ?? null,
      })),
    })),
  };
}

function parseStrategy(f: Fields): RolloutStrategy {
  const waves = f.raw('waves') ?? DEFAULT_STRATEGY.waves;
  if (
    !Array.isArray(waves) ||
    waves.length > 20 ||
    waves.some((w) => typeof w !== 'number' || !(w > 0 && w <= 100))
  )
    throw new FieldError('strategy.waves', 'must be a list of at most 20 percentages in (0, 100]');
  const ratio = f.raw('successRatio') ?? DEFAULT_STRATEGY.successRatio;
  if (typeof ratio !== 'number' || ratio < 0 || ratio > 1)
    throw new FieldError('strategy.successRatio', 'must be a number between 0 and 1');
  return {
    canary: f.has('canary') ? f.integer('canary', 1, 100000) : DEFAULT_STRATEGY.canary,
    waves: waves as number[],
    maxFailuresPerStage: f.has('maxFailuresPerStage')
      ? f.integer('maxFailuresPerStage', 0, 100000)
      : DEFAULT_STRATEGY.maxFailuresPerStage,
    successRatio: ratio,
  };
}

export function parseStartRollout(input: unknown): StartRolloutDto {
  const f = new Fields(input, '', ['policy', 'version', 'strategy']);
  return {
    policy: f.string('policy', { max: 64, pattern: POLICY_NAME, hint: 'must be a policy name' }),
    version: f.integer('version', 1, 2 ** 31 - 1),
    strategy: parseStrategy(
      f.object('strategy', ['canary', 'waves', 'maxFailuresPerStage', 'successRatio']),
    ),
  };
}

export function parseDeploy(input: unknown): DeployDto {
  return { version: new Fields(input, '', ['version']).integer('version', 1, 2 ** 31 - 1) };
}
