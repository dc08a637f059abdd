// Firmware updates: an operator starts one for a device and an image; the
// fleet manager records it, sends `firmware.install` (libs/protocol) with an
// expiry and a download URL carrying a token of this update, and follows it
// from the device's `command-progress` messages and its final response,
// matched by the command's correlation id (stored before the command goes
// out, so nothing the device says can arrive before its record exists).
//
// Statuses: sent → running (first progress) → installed | rolled-back (the
// device's answer) | failed (the device refused or failed, or the command
// could not be sent) | expired (our guess: not started before the command
// expired, or no word for STALL_MS; a late word from the device still wins).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import {
  FIRMWARE_INSTALL,
  readFirmwareInstallResult,
  type CommandProgress,
  type CommandResponse,
  type FirmwareInstallArgs,
} from '@netmirror/protocol';
import { DataSource, In, LessThan, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { FieldError } from '../common/validation.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { ControlService } from '../control/control.service.js';
import { Device } from '../devices/device.entity.js';
import { FirmwareImage } from './firmware-image.entity.js';
import { FirmwareImagesService } from './firmware-images.service.js';
import {
  FirmwareUpdate,
  OPEN_STATUSES,
  type FirmwareUpdateStatus,
} from './firmware-update.entity.js';

/** How long a device may take to start the command (default; the request may say otherwise). */
export const DEFAULT_COMMAND_TTL_SECONDS = 60;
/** The download token outlives the command's expiry by this much (the agent's download takes up to 2 min). */
const DOWNLOAD_WINDOW_MS = 5 * 60_000;
/** A device's clock may be this far behind ours before an unstarted update is called expired. */
const EXPIRY_GRACE_MS = 30_000;
/** A running update with no word from the device for this long is called expired. */
const STALL_MS = 5 * 60_000;
const SWEEP_MS = 5_000;
/** Updates that hold a device and whose download token is good. */
const ACTIVE: FirmwareUpdateStatus[] = ['sent', 'running'];

export interface StartUpdate {
  imageId: string;
  ttlSeconds: number;
}

@Injectable()
export class FirmwareUpdatesService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly log = new Logger('Firmware');
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(ControlService) private readonly control: ControlService,
    @Inject(FirmwareImagesService) private readonly images: FirmwareImagesService,
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
  ) {}

  onModuleInit(): void {
    const quietly =
      (what: string) =>
      (err: unknown): void =>
        this.log.warn(`${what}: ${(err as Error).message}`);
    this.control.on('command-progress', (m) => {
      if (m.message.type === 'command-progress')
        void this.progress(m.route.deviceId, m.message).catch(quietly('progress not recorded'));
    });
    this.control.on('response', (m) => {
      if (m.message.type === 'response')
        void this.finish(m.route.deviceId, m.message).catch(quietly('response not recorded'));
    });
    this.sweeper = setInterval(
      () => void this.sweep().catch(quietly('firmware update sweep')),
      SWEEP_MS,
    );
    this.sweeper.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /**
   * Records an update and sends the command. `baseUrl` is where the device
   * downloads from (config.publicUrl, else the operator request's own).
   */
  async start(
    deviceId: string,
    req: StartUpdate,
    actor: string,
    baseUrl: string,
  ): Promise<FirmwareUpdate> {
    const token = `nmfw_${randomBytes(32).toString('base64url')}`;
    const now = this.config.now();
    const { update, image } = await this.ds.transaction(async (tx) => {
      const device = await tx.findOneBy(Device, { id: deviceId });
      if (!device) throw new NotFoundException(`device "${deviceId}" not found`);
      const image = await tx.findOneBy(FirmwareImage, { id: req.imageId });
      if (!image) throw new FieldError('imageId', `no firmware image "${req.imageId}"`);
      if (!device.online)
        throw new ConflictException(
          `device "${deviceId}" is offline: commands are not kept for absent devices, start the update when it is online`,
        );
      const busy = await tx.findOneBy(FirmwareUpdate, { deviceId, status: In(ACTIVE) });
      if (busy)
        throw new ConflictException(
          `firmware update ${busy.id} of device "${deviceId}" is still ${busy.status}`,
        );
      const expiresAt = new Date(now.getTime() + req.ttlSeconds * 1000);
      const update: FirmwareUpdate = {
        id: randomUUID(),
        deviceId,
        imageId: image.id,
        version: image.version,
        correlationId: randomUUID(),
        status: 'sent',
        phase: null,
        bytes: 0,
        total: image.size,
        progressSeq: 0,
        message: null,
        previousVersion: null,
        runningVersion: null,
        resumedAt: null,
        tokenHash: sha256(token),
        tokenExpiresAt: new Date(expiresAt.getTime() + DOWNLOAD_WINDOW_MS),
        expiresAt,
        createdBy: actor,
        createdAt: now,
        startedAt: null,
        updatedAt: now,
        finishedAt: null,
      };
      await tx.insert(FirmwareUpdate, update);
      await this.audit.record(tx, {
        actor,
        action: 'firmware.update.start',
        target: `device:${deviceId}`,
        details: {
          update: update.id,
          image: image.id,
          board: image.boardProfile,
          version: image.version,
          expiresAt: expiresAt.toISOString(),
        },
      });
      return { update, image };
    });
    const args: FirmwareInstallArgs = {
      imageId: image.id,
      url: `${baseUrl}/firmware/${image.id}/image?token=${token}`,
      size: image.size,
      sha256: image.sha256,
      version: image.version,
      board: image.boardProfile,
    };
    try {
      await this.control.sendCommand(deviceId, FIRMWARE_INSTALL, args, {
        ttlMs: req.ttlSeconds * 1000,
        correlationId: update.correlationId,
      });
    } catch (err) {
      await this.conclude(
        update.id,
        ACTIVE,
        { status: 'failed', message: `command not sent: ${(err as Error).message}` },
        'fleet-manager',
      );
    }
    return this.get(deviceId, update.id);
  }

  list(deviceId: string): Promise<FirmwareUpdate[]> {
    return this.ds
      .getRepository(FirmwareUpdate)
      .find({ where: { deviceId }, order: { createdAt: 'DESC', id: 'ASC' }, take: 100 });
  }

  async get(deviceId: string, id: string): Promise<FirmwareUpdate> {
    const update = await this.ds.getRepository(FirmwareUpdate).findOneBy({ id, deviceId });
    if (!update)
      throw new NotFoundException(`firmware update "${id}" of device "${deviceId}" not found`);
    return update;
  }

  /**
   * The image for a device's download: the token must be one of an update
   * of this image that is still sent or running, before the token expires.
   */
  async download(imageId: string, token: string | undefined): Promise<Buffer> {
    const refused = (): ForbiddenException =>
      new ForbiddenException('firmware download needs a valid download token of an active update');
    if (!token || token.length > 100) throw refused();
    const update = await this.ds
      .getRepository(FirmwareUpdate)
      .findOneBy({ tokenHash: sha256(token) });
    if (
      !update ||
      update.imageId !== imageId ||
      !ACTIVE.includes(update.status) ||
      update.tokenExpiresAt.getTime() <= this.config.now().getTime()
    )
      throw refused();
    return this.images.data(imageId);
  }

  /** A command-progress: newer than what we have, from the device the update is for. */
  private async progress(deviceId: string, p: CommandProgress): Promise<void> {
    const repo = this.ds.getRepository(FirmwareUpdate);
    const update = await repo.findOneBy({ correlationId: p.correlationId });
    if (!update || update.deviceId !== deviceId) return; // not a firmware update's
    if (!OPEN_STATUSES.includes(update.status) || p.seq <= update.progressSeq) return;
    const now = this.config.now();
    await repo.update(
      { id: update.id, status: In(OPEN_STATUSES), progressSeq: LessThan(p.seq) },
      {
        status: 'running',
        phase: p.phase,
        bytes: p.bytes ?? update.bytes,
        total: p.total ?? update.total,
        message: p.message ?? null,
        progressSeq: p.seq,
        startedAt: update.startedAt ?? now,
        updatedAt: now,
        finishedAt: null, // an update we had called expired is running after all
      },
    );
  }

  /** The device's response: the outcome, or why it did not install. */
  private async finish(deviceId: string, r: CommandResponse): Promise<void> {
    const update = await this.ds
      .getRepository(FirmwareUpdate)
      .findOneBy({ correlationId: r.correlationId });
    if (!update || update.deviceId !== deviceId) return;
    if (!r.ok) {
      await this.conclude(
        update.id,
        OPEN_STATUSES,
        { status: 'failed', message: r.error ?? 'failed' },
        `device:${deviceId}`,
      );
      return;
    }
    const result = readFirmwareInstallResult(r.result);
    if (!result.ok) {
      this.log.warn(`device ${deviceId}: unreadable firmware.install result: ${result.reason}`);
      await this.conclude(
        update.id,
        OPEN_STATUSES,
        { status: 'failed', message: `unreadable result from the device: ${result.reason}` },
        `device:${deviceId}`,
      );
      return;
    }
    const res = result.message;
    await this.conclude(
      update.id,
      OPEN_STATUSES,
      {
        status: res.outcome,
        phase: res.outcome === 'installed' ? 'done' : 'rolled-back',
        message: res.rulesRestored
          ? res.message
          : `${res.message}; the device has not programmed its rules again yet`,
        previousVersion: res.previous,
        runningVersion: res.running,
        resumedAt: res.resumedAt,
      },
      `device:${deviceId}`,
    );
  }

  /** Marks updates nobody will answer for any more as expired. */
  private async sweep(): Promise<void> {
    const now = this.config.now().getTime();
    const repo = this.ds.getRepository(FirmwareUpdate);
    const unstarted = await repo.findBy({
      status: 'sent',
      expiresAt: LessThan(new Date(now - EXPIRY_GRACE_MS)),
    });
    for (const u of unstarted)
      await this.conclude(
        u.id,
        ['sent'],
        {
          status: 'expired',
          message: `the device did not start the update before the command expired (${u.expiresAt.toISOString()})`,
        },
        'fleet-manager',
      );
    const stalled = await repo.findBy({
      status: 'running',
      updatedAt: LessThan(new Date(now - STALL_MS)),
    });
    for (const u of stalled)
      await this.conclude(
        u.id,
        ['running'],
        {
          status: 'expired',
          message: `no word from the device for ${STALL_MS / 60_000} minutes (last phase ${u.phase ?? '-'})`,
        },
        'fleet-manager',
      );
  }

  /** Moves an update from one of `from` to a final status, with its audit row; false if it had moved already. */
  private async conclude(
    id: string,
    from: FirmwareUpdateStatus[],
    patch: Partial<FirmwareUpdate> & { status: FirmwareUpdateStatus },
    actor: string,
  ): Promise<boolean> {
    return this.ds.transaction(async (tx: EntityManager) => {
      const now = this.config.now();
      const changed = await tx.update(
        FirmwareUpdate,
        { id, status: In(from) },
        { ...patch, updatedAt: now, finishedAt: now },
      );
      if (!changed.affected) return false;
      const update = await tx.findOneByOrFail(FirmwareUpdate, { id });
      await this.audit.record(tx, {
        actor,
        action: `firmware.update.${patch.status}`,
        target: `device:${update.deviceId}`,
        details: {
          update: id,
          image: update.imageId,
          version: update.version,
          running: update.runningVersion,
          message: update.message,
        },
      });
      return true;
    });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
