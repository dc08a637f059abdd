// Fleet data keys. The fleet manager generates them; each device gets the
// current set wrapped to its own X25519 key (libs/crypto wrapKey, bound to
// the device id and key id), in a non-retained message. The set's version
// only grows, so it is also the delivery version every device reports back.
// A device that was away gets the set again when it comes online behind.
// Rotation adds a key and keeps the previous one (data encrypted just before
// the rotation stays readable); older keys are retired and no longer sent.
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { encodeWrappedKey, generateDataKey, WRAP_ALG, wrapKey } from '@netmirror/crypto';
import { buildKeyDelivery, type KeyDelivery, type WrappedKey } from '@netmirror/protocol';
import { DataSource, In, IsNull, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { ControlService } from '../control/control.service.js';
import { DeviceDesired } from '../device-state/device-desired.entity.js';
import {
  DeviceStateService,
  findByDeviceIds,
  inWindow,
  upsertDesired,
} from '../device-state/device-state.service.js';
import { Device } from '../devices/device.entity.js';
import { DataKeyRecord } from './data-key.entity.js';

/** Keys delivered: the newest and the one before it. */
const KEYS_IN_USE = 2;
/** Key deliveries in flight at once (QoS 1). */
const PUBLISH_WINDOW = 2000;

export interface KeySetView {
  version: number;
  keys: Array<{ keyId: string; createdAt: Date; retiredAt: Date | null; active: boolean }>;
}

@Injectable()
export class KeysService implements OnModuleInit, OnApplicationBootstrap {
  private readonly log = new Logger('Keys');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(ControlService) private readonly control: ControlService,
    @Inject(DeviceStateService) private readonly state: DeviceStateService,
  ) {}

  onModuleInit(): void {
    this.state.onCameOnline((ids) => this.deliverIfBehind(ids));
  }

  /** The first key set is made on first start, so every enrolled device has a key. */
  async onApplicationBootstrap(): Promise<void> {
    await this.ds.transaction(async (tx) => {
      if ((await tx.count(DataKeyRecord)) === 0) await this.addKey(tx, 1, 'system:fleet-manager');
    });
  }

  async list(): Promise<KeySetView> {
    const rows = await this.ds
      .getRepository(DataKeyRecord)
      .find({ order: { keySetVersion: 'DESC' } });
    return {
      version: rows[0]?.keySetVersion ?? 0,
      keys: rows.map((r) => ({
        keyId: r.keyId,
        createdAt: r.createdAt,
        retiredAt: r.retiredAt,
        active: r.retiredAt === null,
      })),
    };
  }

  /** A new key set version; delivered to every device now (online ones apply it at once). */
  async rotate(actor: string): Promise<KeySetView> {
    await this.ds.transaction(async (tx) => {
      const current = await this.activeKeys(tx);
      await this.addKey(tx, (current[0]?.keySetVersion ?? 0) + 1, actor);
    });
    const ids = (await this.ds.getRepository(Device).find({ select: { id: true } })).map(
      (d) => d.id,
    );
    await this.deliver(ids, true);
    return this.list();
  }

  /** Devices whose key set is older than the current one, or who have not reported it, get it (again). */
  async deliverIfBehind(deviceIds: readonly string[]): Promise<void> {
    await this.deliver(deviceIds, false);
  }

  /**
   * Works out every device's delivery first, writes the new desired rows in
   * bulk, then publishes with many in flight (a connection storm of 10,000
   * devices is 10,000 deliveries: one round trip each would take minutes).
   */
  private async deliver(deviceIds: readonly string[], force: boolean): Promise<void> {
    if (deviceIds.length === 0) return;
    const keys = await this.activeKeys(this.ds.manager);
    if (keys.length === 0) return;
    const version = keys[0].keySetVersion;
    const { desired, reported } = await this.state.rowsOf('keys', deviceIds);
    const devices = await findByDeviceIds(this.ds.manager, Device, 'id', deviceIds);
    const outgoing: Array<{ deviceId: string; delivery: KeyDelivery }> = [];
    const rows: DeviceDesired[] = [];
    for (const device of devices) {
      const want = desired.get(device.id);
      const have = reported.get(device.id);
      let delivery: KeyDelivery;
      if (!force && want && want.version === version) {
        if (have && have.version >= version && have.hash === want.hash) continue; // in effect
        // Same version again, byte for byte: the agent treats it as the set it was sent.
        delivery = {
          v: 1,
          type: 'keys',
          version,
          hash: want.hash,
          keys: want.spec as unknown as WrappedKey[],
          issuedAt: want.publishedAt.getTime(),
        };
      } else {
        if (want && want.version >= version && !force) continue;
        const recipient = createPublicKey(device.publicKeys.x25519); // parsed once for all its keys
        delivery = buildKeyDelivery(
          version,
          keys.map((k) => this.wrapFor(device, recipient, k)),
        );
        rows.push({
          deviceId: device.id,
          domain: 'keys',
          version,
          hash: delivery.hash,
          spec: delivery.keys as unknown as DeviceDesired['spec'],
          policy: null,
          policyVersion: null,
          publishedAt: new Date(delivery.issuedAt),
        });
      }
      outgoing.push({ deviceId: device.id, delivery });
    }
    await upsertDesired(this.ds.manager, rows);
    await inWindow(outgoing, PUBLISH_WINDOW, ({ deviceId, delivery }) =>
      this.control.publishKeys(deviceId, delivery).catch((err: Error) => {
        this.log.warn(
          `key set v${version} to ${deviceId} not sent (${err.message}); sent again when it comes online`,
        );
      }),
    );
  }

  private wrapFor(device: Device, recipient: KeyObject, key: DataKeyRecord): WrappedKey {
    const wrapped = wrapKey(Buffer.from(key.material, 'base64'), recipient, {
      deviceId: device.id,
      keyId: key.keyId,
    });
    return {
      keyId: key.keyId,
      alg: WRAP_ALG,
      wrapped: encodeWrappedKey(wrapped),
      notBefore: key.createdAt.getTime(),
    };
  }

  private activeKeys(tx: EntityManager): Promise<DataKeyRecord[]> {
    return tx.find(DataKeyRecord, {
      where: { retiredAt: IsNull() },
      order: { keySetVersion: 'DESC' },
    });
  }

  private async addKey(tx: EntityManager, version: number, actor: string): Promise<void> {
    const key = generateDataKey();
    const now = new Date();
    await tx.insert(DataKeyRecord, {
      keyId: key.keyId,
      keySetVersion: version,
      material: key.key.toString('base64'),
      createdAt: now,
      retiredAt: null,
    });
    const active = await this.activeKeys(tx);
    const retire = active.slice(KEYS_IN_USE).map((k) => k.keyId);
    if (retire.length > 0)
      await tx.update(DataKeyRecord, { keyId: In(retire) }, { retiredAt: now });
    await this.audit.record(tx, {
      actor,
      action: version === 1 ? 'keys.create' : 'keys.rotate',
      target: 'keys',
      details: { version, keyId: key.keyId, retired: retire },
    });
  }
}
