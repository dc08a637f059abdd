// Firmware over gRPC: UploadFirmware, ListFirmware, GetFirmware (metadata
// only), StartFirmwareUpdate, ListFirmwareUpdates, GetFirmwareUpdate.
//
// The download URL in the firmware.install command: REST bases it on the
// publicUrl option, else on the scheme and Host of the operator's request.
// A gRPC request names no HTTP Host, so here it is publicUrl, else the REST
// API's own listening address (FleetManagerHandle.url, the same function);
// a wildcard address (0.0.0.0, ::) is no place to download from, so then the
// call fails (FAILED_PRECONDITION) asking for publicUrl.
import {
  Inject,
  Injectable,
  ParseUUIDPipe,
  PreconditionFailedException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FirmwareImage, FirmwareUpdate, FleetServiceServer } from '@netmirror/fleet-api';
import type { Server } from 'node:http';
import { listeningUrl } from '../common/listening-url.js';
import { FieldError } from '../common/validation.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import {
  parseStartFirmwareUpdate,
  toFirmwareImageDto,
  toFirmwareUpdateDto,
  type FirmwareImageDto,
  type FirmwareUpdateDto,
} from '../firmware/dto/firmware.dto.js';
import type { FirmwareImage as FirmwareImageRecord } from '../firmware/firmware-image.entity.js';
import type { FirmwareUpdate as FirmwareUpdateRecord } from '../firmware/firmware-update.entity.js';
import { FirmwareImagesService, MAX_IMAGE_BYTES } from '../firmware/firmware-images.service.js';
import { FirmwareUpdatesService } from '../firmware/firmware-updates.service.js';
import { imageTooLarge } from '../firmware/read-body.js';
import { unary } from './call.js';
import { opt } from './convert.js';

function imageToProto(i: FirmwareImageDto): FirmwareImage {
  return {
    id: i.id,
    boardId: i.boardId,
    boardProfile: i.boardProfile,
    version: i.version,
    size: i.size,
    sha256: i.sha256,
    keyId: i.keyId,
    builtAt: i.builtAt,
    createdBy: i.createdBy,
    createdAt: i.createdAt,
  };
}

function updateToProto(u: FirmwareUpdateDto): FirmwareUpdate {
  return {
    id: u.id,
    deviceId: u.deviceId,
    imageId: u.imageId,
    version: u.version,
    status: u.status,
    phase: opt(u.phase),
    bytes: u.bytes,
    total: u.total,
    message: opt(u.message),
    previousVersion: opt(u.previousVersion),
    runningVersion: opt(u.runningVersion),
    resumedAt: opt(u.resumedAt),
    expiresAt: u.expiresAt,
    createdBy: u.createdBy,
    createdAt: u.createdAt,
    startedAt: opt(u.startedAt),
    updatedAt: u.updatedAt,
    finishedAt: opt(u.finishedAt),
  };
}

const image = (i: FirmwareImageRecord): FirmwareImage => imageToProto(toFirmwareImageDto(i));
const update = (u: FirmwareUpdateRecord): FirmwareUpdate => updateToProto(toFirmwareUpdateDto(u));

/** REST's ParseUUIDPipe on GET /firmware/:id, its message under the field's name. */
const imageIdPipe = new ParseUUIDPipe({
  exceptionFactory: (problem) => new FieldError('id', problem),
});

type FirmwareRpcs = Pick<
  FleetServiceServer,
  | 'uploadFirmware'
  | 'listFirmware'
  | 'getFirmware'
  | 'startFirmwareUpdate'
  | 'listFirmwareUpdates'
  | 'getFirmwareUpdate'
>;

@Injectable()
export class FirmwareGrpc {
  constructor(
    @Inject(FirmwareImagesService) private readonly images: FirmwareImagesService,
    @Inject(FirmwareUpdatesService) private readonly updates: FirmwareUpdatesService,
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
  ) {}

  /** Where devices download from: publicUrl, else the REST API's own address. */
  private downloadBase(): string {
    if (this.config.publicUrl !== undefined) return this.config.publicUrl;
    const url = listeningUrl(this.http.httpAdapter.getHttpServer() as Server);
    if (url === null) throw new ServiceUnavailableException('the REST API is not listening yet');
    const host = new URL(url).hostname;
    if (host === '0.0.0.0' || host === '[::]')
      throw new PreconditionFailedException(
        `the REST API listens on ${host}, which is no address devices can download from: start the fleet manager with publicUrl`,
      );
    return url;
  }

  handlers(): FirmwareRpcs {
    return {
      // As POST /firmware: the same limit (413 → RESOURCE_EXHAUSTED), checks and audit row.
      uploadFirmware: unary(async (req, { actor }) => {
        if (req.image.length > MAX_IMAGE_BYTES) throw imageTooLarge(MAX_IMAGE_BYTES);
        if (req.image.length === 0) throw new FieldError('image', 'is required');
        return image(await this.images.upload(req.image, actor));
      }),

      listFirmware: unary(async () => ({ items: (await this.images.list()).map(image) })),

      getFirmware: unary(async (req) => {
        await imageIdPipe.transform(req.id, { type: 'param', data: 'id' });
        return image(await this.images.get(req.id));
      }),

      startFirmwareUpdate: unary(async (req, { actor }) => {
        const body = parseStartFirmwareUpdate({
          imageId: req.imageId || undefined, // unset: "imageId: is required", as REST
          ttlSeconds: req.ttlSeconds,
        });
        return update(await this.updates.start(req.deviceId, body, actor, this.downloadBase()));
      }),

      listFirmwareUpdates: unary(async (req) => ({
        items: (await this.updates.list(req.deviceId)).map(update),
      })),

      getFirmwareUpdate: unary(async (req) =>
        update(await this.updates.get(req.deviceId, req.updateId)),
      ),
    };
  }
}
