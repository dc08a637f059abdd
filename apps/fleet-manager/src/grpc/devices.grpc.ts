// Devices over gRPC: ListDevices, GetDevice, UpdateDevice, DecommissionDevice.
import { Inject, Injectable } from '@nestjs/common';
import type { Device, FleetServiceServer } from '@netmirror/fleet-api';
import { FieldError } from '../common/validation.js';
import { toDeviceDto, type DeviceDto } from '../devices/dto/device.dto.js';
import { parseListDevices } from '../devices/dto/list-devices.query.js';
import { parseUpdateDevice } from '../devices/dto/update-device.dto.js';
import { DevicesService } from '../devices/devices.service.js';
import { unary } from './call.js';
import { opt, queryValue } from './convert.js';

export function deviceToProto(d: DeviceDto): Device {
  return {
    id: d.id,
    name: d.name,
    labels: d.labels,
    site: opt(d.site),
    model: opt(d.model),
    firmwareVersion: opt(d.firmwareVersion),
    agentVersion: opt(d.agentVersion),
    publicKeys: { tls: d.publicKeys.tls, x25519: d.publicKeys.x25519 },
    certificatePem: opt(d.certificatePem),
    lastSeenAt: opt(d.lastSeenAt),
    online: d.online,
    createdAt: d.createdAt,
  };
}

type DevicesRpcs = Pick<
  FleetServiceServer,
  'listDevices' | 'getDevice' | 'updateDevice' | 'decommissionDevice'
>;

@Injectable()
export class DevicesGrpc {
  constructor(@Inject(DevicesService) private readonly devices: DevicesService) {}

  handlers(): DevicesRpcs {
    return {
      listDevices: unary(async (req) => {
        const q = parseListDevices({
          label: req.label,
          online: queryValue(req.online),
          limit: queryValue(req.limit),
          offset: queryValue(req.offset),
        });
        const { items, total } = await this.devices.list(q);
        return { items: items.map((d) => deviceToProto(toDeviceDto(d))), total };
      }),

      getDevice: unary(async (req) => deviceToProto(toDeviceDto(await this.devices.get(req.id)))),

      updateDevice: unary(async (req, { actor }) => {
        // The REST merge patch: {name?, site?: string | null, labels?: {k: v | null}}.
        const body: Record<string, unknown> = {};
        if (req.name !== undefined) body.name = req.name;
        if (req.clearSite) {
          if (req.site !== undefined)
            throw new FieldError('clearSite', 'give site or clearSite, not both');
          body.site = null;
        } else if (req.site !== undefined) body.site = req.site;
        const labels: Record<string, string | null> = { ...req.setLabels };
        for (const k of req.removeLabels) {
          if (k in req.setLabels)
            throw new FieldError(`removeLabels`, `"${k}" is also in setLabels`);
          labels[k] = null;
        }
        if (Object.keys(labels).length > 0) body.labels = labels;
        const patch = parseUpdateDevice(body);
        return deviceToProto(toDeviceDto(await this.devices.update(req.id, patch, actor)));
      }),

      decommissionDevice: unary(async (req, { actor }) => {
        await this.devices.decommission(req.id, actor);
        return {};
      }),
    };
  }
}
