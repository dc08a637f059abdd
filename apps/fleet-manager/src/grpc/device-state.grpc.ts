// Desired against reported state over gRPC: GetDeviceState, ListDrift.
import { Inject, Injectable } from '@nestjs/common';
import type { DomainState, FleetServiceServer } from '@netmirror/fleet-api';
import { DeviceStateService } from '../device-state/device-state.service.js';
import {
  toDeviceStateDto,
  toDomainStateDto,
  type DomainStateDto,
} from '../device-state/dto/device-state.dto.js';
import { unary } from './call.js';
import { opt } from './convert.js';

function domainStateToProto(s: DomainStateDto): DomainState {
  const d = s.desired;
  const r = s.reported;
  return {
    domain: s.domain,
    desired: d
      ? {
          version: d.version,
          hash: d.hash,
          policy: opt(d.policy),
          policyVersion: opt(d.policyVersion),
          publishedAt: d.publishedAt,
        }
      : undefined,
    reported: r
      ? {
          version: r.version,
          hash: opt(r.hash),
          status: r.status,
          error: opt(r.error),
          rejectedVersion: opt(r.rejectedVersion),
          at: r.at,
        }
      : undefined,
    inSync: s.inSync,
  };
}

@Injectable()
export class DeviceStateGrpc {
  constructor(@Inject(DeviceStateService) private readonly state: DeviceStateService) {}

  handlers(): Pick<FleetServiceServer, 'getDeviceState' | 'listDrift'> {
    return {
      getDeviceState: unary(async (req) => {
        const { device, domains } = await this.state.stateOf(req.deviceId);
        const dto = toDeviceStateDto(device, domains);
        return {
          deviceId: dto.deviceId,
          online: dto.online,
          lastSeenAt: opt(dto.lastSeenAt),
          domains: dto.domains.map(domainStateToProto),
        };
      }),

      listDrift: unary(async () => ({
        items: (await this.state.drift()).map((s) => ({
          deviceId: s.deviceId,
          ...domainStateToProto(toDomainStateDto(s)),
        })),
      })),
    };
  }
}
