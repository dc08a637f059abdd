// Firmware images: checked on upload exactly as a board would check them
// (format, CRC, board id, signing key, Ed25519 signature against the board
// profile's keys, slot size) and refused with the reason otherwise; stored
// with their bytes in the database (images are at most a few MiB).
import { createHash, randomUUID } from 'node:crypto';
import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import {
  checkFirmwareImage,
  formatFirmwareVersion,
  listBoardProfiles,
  loadBoardProfile,
  parseImageHeader,
  type BoardProfile,
} from '@netmirror/fpga';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { dialectOf } from '../database/dialect.js';
import { FirmwareImage } from './firmware-image.entity.js';

/** The largest upload taken (the largest board slot is 4 MiB). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

/** Why an image was refused: the checks of checkFirmwareImage, plus the profile and slot size. */
export type ImageRefusal = 'header' | 'crc' | 'board' | 'key' | 'signature' | 'size';

export class ImageRefusedException extends BadRequestException {
  constructor(
    readonly reason: ImageRefusal,
    message: string,
  ) {
    super({
      statusCode: 400,
      error: 'Bad Request',
      reason,
      message: `firmware image refused: ${message}`,
    });
  }
}

@Injectable()
export class FirmwareImagesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
  ) {}

  /** Checks and stores an image; throws ImageRefusedException (400) with the reason. */
  async upload(image: Buffer, actor: string): Promise<FirmwareImage> {
    const header = parseImageHeader(image);
    if (typeof header === 'string')
      throw new ImageRefusedException(header.includes('CRC') ? 'crc' : 'header', header);
    const profile = profileForBoard(header.boardId);
    if (!profile)
      throw new ImageRefusedException(
        'board',
        `no board profile has board id ${hex(header.boardId)} (known: ${knownBoards()})`,
      );
    const check = checkFirmwareImage(image, profile.boardId, profile.firmware.signingKeys);
    if (!check.ok) throw new ImageRefusedException(check.reason, check.message);
    if (image.length > profile.firmware.slotBytes)
      throw new ImageRefusedException(
        'size',
        `${image.length} bytes do not fit the ${profile.id}'s firmware slot (${profile.firmware.slotBytes} bytes)`,
      );
    const sha256 = createHash('sha256').update(image).digest('hex');
    return this.ds.transaction(async (tx) => {
      const existing = await tx.findOneBy(FirmwareImage, { sha256 });
      if (existing)
        throw new ConflictException(`this image was uploaded already, as ${existing.id}`);
      const record: FirmwareImage = {
        id: randomUUID(),
        boardId: header.boardId,
        boardProfile: profile.id,
        version: formatFirmwareVersion(header.version),
        size: image.length,
        sha256,
        keyId: header.keyId,
        builtAt: new Date(header.buildTime * 1000),
        createdBy: actor,
        createdAt: this.config.now(),
      };
      await tx.insert(FirmwareImage, record);
      await tx.query(sql(tx, 'INSERT INTO firmware_image_data (image_id, data) VALUES (?, ?)'), [
        record.id,
        image,
      ]);
      await this.audit.record(tx, {
        actor,
        action: 'firmware.upload',
        target: `firmware:${record.id}`,
        details: {
          board: profile.id,
          version: record.version,
          size: record.size,
          sha256,
          keyId: record.keyId,
        },
      });
      return record;
    });
  }

  list(): Promise<FirmwareImage[]> {
    return this.ds.getRepository(FirmwareImage).find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }

  async get(id: string, tx: EntityManager = this.ds.manager): Promise<FirmwareImage> {
    const image = await tx.findOneBy(FirmwareImage, { id });
    if (!image) throw new NotFoundException(`firmware image "${id}" not found`);
    return image;
  }

  /** The image's bytes. */
  async data(id: string): Promise<Buffer> {
    const rows = (await this.ds.query(
      sql(this.ds.manager, 'SELECT data FROM firmware_image_data WHERE image_id = ?'),
      [id],
    )) as Array<{ data: Buffer }>;
    if (rows.length === 0) throw new NotFoundException(`firmware image "${id}" not found`);
    return Buffer.from(rows[0].data);
  }
}

/** The profile of the board with this BOARD_ID, or null (an unreadable profile file is skipped). */
function profileForBoard(boardId: number): BoardProfile | null {
  for (const id of listBoardProfiles()) {
    try {
      const p = loadBoardProfile(id);
      if (p.boardId === boardId) return p;
    } catch {
      // a broken profile is not this board's
    }
  }
  return null;
}

function knownBoards(): string {
  const known: string[] = [];
  for (const id of listBoardProfiles()) {
    try {
      known.push(`${id} ${hex(loadBoardProfile(id).boardId)}`);
    } catch {
      // skipped, as above
    }
  }
  return known.join(', ') || 'none';
}

/** `?` placeholders as the dialect wants them ($1, $2, … on PostgreSQL). */
function sql(tx: EntityManager, text: string): string {
  if (dialectOf(tx.connection) !== 'postgres') return text;
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}
