// Fleet data keys over gRPC: ListKeys, RotateKeys (metadata only).
import { Inject, Injectable } from '@nestjs/common';
import type { FleetServiceServer, KeySet } from '@netmirror/fleet-api';
import { KeysService, type KeySetView } from '../keys/keys.service.js';
import { unary } from './call.js';
import { opt } from './convert.js';

function keySet(v: KeySetView): KeySet {
  return {
    version: v.version,
    keys: v.keys.map((k) => ({
      keyId: k.keyId,
      createdAt: k.createdAt,
      retiredAt: opt(k.retiredAt),
      active: k.active,
    })),
  };
}

@Injectable()
export class KeysGrpc {
  constructor(@Inject(KeysService) private readonly keys: KeysService) {}

  handlers(): Pick<FleetServiceServer, 'listKeys' | 'rotateKeys'> {
    return {
      listKeys: unary(async () => keySet(await this.keys.list())),
      rotateKeys: unary(async (_req, { actor }) => keySet(await this.keys.rotate(actor))),
    };
  }
}
