// Rollouts over gRPC: StartRollout, DeployPolicy, ListRollouts, GetRollout,
// PauseRollout, ResumeRollout, AbortRollout, RollbackRollout.
import { Inject, Injectable } from '@nestjs/common';
import type { FleetServiceServer, Rollout } from '@netmirror/fleet-api';
import {
  parseDeploy,
  parseStartRollout,
  toRolloutDto,
  type RolloutDto,
} from '../rollouts/dto/rollout.dto.js';
import type { RolloutRecord } from '../rollouts/rollout.entity.js';
import { RolloutsService } from '../rollouts/rollouts.service.js';
import { unary } from './call.js';
import { opt } from './convert.js';

function rolloutToProto(r: RolloutDto): Rollout {
  return {
    id: r.id,
    policy: r.policy,
    domain: r.domain,
    version: r.version,
    previousVersion: opt(r.previousVersion),
    status: r.status,
    reason: opt(r.reason),
    strategy: {
      canary: r.strategy.canary,
      waves: r.strategy.waves,
      maxFailuresPerStage: r.strategy.maxFailuresPerStage,
      successRatio: r.strategy.successRatio,
    },
    stages: r.stages.map((s) => ({
      index: s.index,
      devices: s.devices.map((d) => ({
        deviceId: d.deviceId,
        outcome: d.outcome,
        error: opt(d.error),
      })),
    })),
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

const rollout = (r: RolloutRecord): Rollout => rolloutToProto(toRolloutDto(r));

type RolloutsRpcs = Pick<
  FleetServiceServer,
  | 'startRollout'
  | 'deployPolicy'
  | 'listRollouts'
  | 'getRollout'
  | 'pauseRollout'
  | 'resumeRollout'
  | 'abortRollout'
  | 'rollbackRollout'
>;

@Injectable()
export class RolloutsGrpc {
  constructor(@Inject(RolloutsService) private readonly rollouts: RolloutsService) {}

  handlers(): RolloutsRpcs {
    return {
      startRollout: unary(async (req, { actor }) => {
        const s = req.strategy;
        const dto = parseStartRollout({
          policy: req.policy,
          version: req.version,
          strategy: s && {
            canary: s.canary,
            waves: s.waves.length > 0 ? s.waves : undefined, // empty = the default, as unset
            maxFailuresPerStage: s.maxFailuresPerStage,
            successRatio: s.successRatio,
          },
        });
        return rollout(await this.rollouts.start(dto, actor));
      }),

      deployPolicy: unary(async (req, { actor }) => {
        const { version } = parseDeploy({ version: req.version });
        return rollout(await this.rollouts.deploy(req.name, version, actor));
      }),

      listRollouts: unary(async (req) => ({
        items: (await this.rollouts.list({ policy: req.policy || undefined })).map(rollout),
      })),

      getRollout: unary(async (req) => rollout(await this.rollouts.get(req.id))),
      pauseRollout: unary(async (req, { actor }) =>
        rollout(await this.rollouts.pause(req.id, actor)),
      ),
      resumeRollout: unary(async (req, { actor }) =>
        rollout(await this.rollouts.resume(req.id, actor)),
      ),
      abortRollout: unary(async (req, { actor }) =>
        rollout(await this.rollouts.abort(req.id, actor)),
      ),
      rollbackRollout: unary(async (req, { actor }) =>
        rollout(await this.rollouts.rollback(req.id, actor)),
      ),
    };
  }
}
