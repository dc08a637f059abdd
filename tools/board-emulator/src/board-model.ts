/**
 * A software model of a NetMirror tap board, built from its profile and the
 * register map: registers with their access rules, the two filter-table
 * banks with an atomic commit, counter blocks, A/B firmware slots with
 * verify/activate/trial/rollback, and the data path (parse, look up, copy
 * to monitor ports, slice, timestamp trailer). It answers link requests
 * (`handle`) and raises events; the transport is someone else's.
 *
 * A model, not the hardware: timing is not cycle-accurate, and "booting" an
 * image means reading the manifest at the start of its payload (see
 * README.md).
 */
import {
  checkFirmwareImage,
  CounterBlock,
  decodeControl,
  decodeFwControl,
  decodeTcamControl,
  encodeFwStatus,
  encodeStatus,
  encodeTcamStatus,
  formatFirmwareVersion,
  FrameKeyBuilder,
  FwStatusState,
  IMAGE_HEADER_BYTES,
  lookupTcam,
  monitorPorts,
  parseImageHeader,
  PortCounter,
  Reg,
  REGISTERS,
  REGMAP_VERSION,
  Table,
  tcamGeometry,
} from '@netmirror/fpga';
import type { BoardProfile, TcamGeometry } from '@netmirror/fpga';
import { decodeFrame, LinkType, PacketView } from '@netmirror/packet';
import {
  decodeReadCounters,
  decodeReadRegs,
  decodeTableRead,
  decodeTableWrite,
  decodeWriteRegs,
  encodeTableWritten,
  encodeU32s,
  encodeU64s,
  EventOp,
  MAX_READ_COUNTERS,
  MAX_READ_REGS,
  Op,
  ResetReason,
  Status,
} from '@netmirror/serial-link';
import type { Response } from '@netmirror/serial-link';
import { crc32 } from 'node:zlib';

/** What a firmware payload's manifest says about booting it (the model's stand-in for a bitstream). */
export interface FirmwareManifest {
  /** The image's self-test passes. */
  healthy: boolean;
  /** The board never answers after booting it (a bitstream that hangs the controller). */
  hang?: boolean;
}

const MANIFEST_MAGIC = 'NMBITSTREAM\n';

/** A payload whose manifest says how the model boots it, padded to `size` bytes. */
export function firmwarePayload(manifest: FirmwareManifest, size = 4096): Buffer {
  const head = Buffer.from(`${MANIFEST_MAGIC}${JSON.stringify(manifest)}\n`);
  const out = Buffer.alloc(Math.max(size, head.length), 0x5a);
  head.copy(out);
  return out;
}

function readManifest(image: Buffer): FirmwareManifest {
  const payload = image.subarray(IMAGE_HEADER_BYTES);
  const text = payload.subarray(0, 512).toString('latin1');
  if (!text.startsWith(MANIFEST_MAGIC)) return { healthy: false };
  try {
    const m = JSON.parse(text.slice(MANIFEST_MAGIC.length).split('\n')[0]) as FirmwareManifest;
    return { healthy: m.healthy === true, hang: m.hang === true };
  } catch {
    return { healthy: false };
  }
}

interface Slot {
  image: Buffer | null;
  /** FW_VERSION layout. */
  version: number;
}

/** Where the model's copies go: monitor port index, the copy's bytes. */
export type EmitCopy = (monitor: number, frame: Buffer, tsSec: number, tsNsec: number) => void;
export type RaiseEvent = (op: number, body: Buffer) => void;

export interface BoardModelOptions {
  /** Version of the factory image in slot A. */
  factoryVersion?: number;
  emit?: EmitCopy;
  event?: RaiseEvent;
  /**
   * Called when the board restarts: the link layer forgets its replay cache,
   * takes a new boot id and sends the RESET event (unless the image hangs).
   */
  restarted?: (reason: number) => void;
}

export class BoardModel {
  readonly geometry: TcamGeometry;
  readonly ingress: number;
  readonly monitors: number;
  private regs = new Map<number, number>();
  private shadow: Buffer;
  private active: Buffer;
  private hits: Float64Array;
  private portCounters: Float64Array;
  private generation = 0;
  private bootedAt = Date.now();
  private readonly slots: [Slot, Slot];
  private activeSlot = 0;
  /** Slot running on trial since an ACTIVATE, or -1. */
  private trialSlot = -1;
  private trialTimer: NodeJS.Timeout | null = null;
  private fwState: number = FwStatusState.IDLE;
  /** The inactive slot's upload in progress (kept across resets, like flash). */
  private upload = { id: 0, size: 0, received: 0, buffer: Buffer.alloc(0) };
  private healthy = true;
  /** The running image hangs: the board does not answer. */
  hung = false;
  private readonly keyBuilder: FrameKeyBuilder;
  private readonly view = new PacketView();

  constructor(
    readonly profile: BoardProfile,
    private readonly options: BoardModelOptions = {},
  ) {
    this.geometry = tcamGeometry(profile);
    this.ingress = profile.ports.length - monitorPorts(profile).length;
    this.monitors = monitorPorts(profile).length;
    this.shadow = Buffer.alloc(this.geometry.bankBytes);
    this.active = Buffer.alloc(this.geometry.bankBytes);
    this.hits = new Float64Array(profile.tcam.entries);
    this.portCounters = new Float64Array(profile.ports.length * PortCounter.COUNT);
    this.keyBuilder = new FrameKeyBuilder(profile);
    this.slots = [
      { image: null, version: options.factoryVersion ?? 0x010000 },
      { image: null, version: 0 },
    ];
    this.powerOn();
  }

  /** Power-on state: registers at reset, tables and counters zero. */
  private powerOn(): void {
    this.regs = new Map(REGISTERS.map((r) => [r.address, 0]));
    this.shadow.fill(0);
    this.active.fill(0);
    this.hits.fill(0);
    this.portCounters.fill(0);
    this.generation = 0;
    this.bootedAt = Date.now();
  }

  // ---- the link's requests -------------------------------------------

  /** Answers one request (the serial link server calls this). */
  handle(op: number, body: Buffer): Response {
    try {
      switch (op) {
        case Op.READ_REGS:
          return this.readRegs(body);
        case Op.WRITE_REGS:
          return this.writeRegs(body);
        case Op.TABLE_WRITE:
          return this.tableWrite(body);
        case Op.TABLE_READ:
          return this.tableRead(body);
        case Op.READ_COUNTERS:
          return this.readCounters(body);
        case Op.PING:
          return { status: Status.OK, body };
        default:
          return fail(Status.UNKNOWN_OP, `op 0x${op.toString(16)}`);
      }
    } catch (e) {
      return fail(Status.BAD_REQUEST, (e as Error).message);
    }
  }

  private readRegs(body: Buffer): Response {
    const req = decodeReadRegs(body);
    if (typeof req === 'string') return fail(Status.BAD_REQUEST, req);
    const { address, count } = req;
    if (count < 1 || count > MAX_READ_REGS) return fail(Status.BAD_REQUEST, `count ${count}`);
    const values: number[] = [];
    for (let i = 0; i < count; i++) {
      const value = this.readRegister(address + 4 * i);
      if (value === null) return fail(Status.BAD_ADDRESS, `0x${(address + 4 * i).toString(16)}`);
      values.push(value);
    }
    return { status: Status.OK, body: encodeU32s(values) };
  }

  private writeRegs(body: Buffer): Response {
    const req = decodeWriteRegs(body);
    if (typeof req === 'string') return fail(Status.BAD_REQUEST, req);
    const { address, values } = req;
    const count = values.length;
    // Check every address first: a refused write changes nothing.
    for (let i = 0; i < count; i++) {
      const info = REGISTERS.find((r) => r.address === address + 4 * i);
      if (!info) return fail(Status.BAD_ADDRESS, `0x${(address + 4 * i).toString(16)}`);
      if (info.access === 'ro') return fail(Status.READ_ONLY, info.name);
    }
    for (let i = 0; i < count; i++) {
      const status = this.writeRegister(address + 4 * i, values[i]);
      if (status.status !== Status.OK) return status;
    }
    return { status: Status.OK };
  }

  private readRegister(address: number): number | null {
    switch (address) {
      case Reg.BOARD_ID:
        return this.profile.boardId;
      case Reg.REGMAP_VERSION:
        return REGMAP_VERSION.word;
      case Reg.FW_VERSION:
        return this.slots[this.activeSlot].version;
      case Reg.STATUS:
        return encodeStatus({
          ready: 1,
          healthy: this.healthy ? 1 : 0,
          activeSlot: this.activeSlot,
          mirroring: this.mirroring() ? 1 : 0,
          linkUp: (1 << this.profile.ports.length) - 1,
        });
      case Reg.UPTIME_S:
        return Math.floor((Date.now() - this.bootedAt) / 1000);
      case Reg.PORT_COUNT:
        return this.ingress | (this.monitors << 8);
      case Reg.TCAM_STATUS:
        return encodeTcamStatus({
          activeBank: this.generation & 1,
          busy: 0,
          generation: this.generation & 0xffffff,
        });
      case Reg.TCAM_ENTRIES:
        return this.profile.tcam.entries;
      case Reg.TCAM_KEY_BYTES:
        return this.geometry.keyBytes;
      case Reg.TCAM_ENTRY_BYTES:
        return this.geometry.entryBytes;
      case Reg.TCAM_SHADOW_CRC:
        return crc32(this.shadow);
      case Reg.TCAM_ACTIVE_CRC:
        return crc32(this.active);
      case Reg.SLICE_LIMITS:
        return this.profile.slicing.supported
          ? (this.profile.slicing.minBytes | (this.profile.slicing.maxBytes << 16)) >>> 0
          : 0;
      case Reg.FW_STATUS:
        return encodeFwStatus({ state: this.fwState, inactiveSlot: 1 - this.activeSlot });
      case Reg.FW_UPLOAD_BYTES:
        return this.upload.received;
      case Reg.FW_UPLOAD_ID:
        return this.upload.id;
      case Reg.FW_SLOT_A_VERSION:
        return this.slots[0].version;
      case Reg.FW_SLOT_B_VERSION:
        return this.slots[1].version;
      case Reg.FW_SLOT_BYTES:
        return this.profile.firmware.slotBytes;
      case Reg.FW_BOOT_TIMEOUT_MS:
        return this.profile.firmware.bootTimeoutMs;
      default:
        return this.regs.has(address) ? (this.regs.get(address) ?? 0) : null;
    }
  }

  private writeRegister(address: number, value: number): Response {
    switch (address) {
      case Reg.CONTROL: {
        const c = decodeControl(value);
        this.regs.set(address, c.mirrorEnable); // command bits read back 0
        if (c.countersClear) {
          this.hits.fill(0);
          this.portCounters.fill(0);
        }
        if (c.softReset) setImmediate(() => this.restart(ResetReason.COMMANDED));
        return { status: Status.OK };
      }
      case Reg.TIMESTAMP_CONTROL: {
        const mode = value & 3;
        const name = mode === 0 ? 'NONE' : mode === 1 ? 'TRAILER' : '?';
        if (!this.profile.timestamps.modes.includes(name as 'NONE'))
          return fail(Status.BAD_REQUEST, `timestamp mode ${name} not on this board`);
        this.regs.set(address, mode);
        return { status: Status.OK };
      }
      case Reg.TCAM_CONTROL: {
        const c = decodeTcamControl(value);
        if (c.clearShadow) this.shadow.fill(0);
        if (c.commit) this.commit();
        return { status: Status.OK };
      }
      case Reg.FW_CONTROL:
        return this.firmwareCommand(value);
      default:
        this.regs.set(address, value >>> 0);
        return { status: Status.OK };
    }
  }

  /** Swap banks between two frames: the data path always sees one whole bank. */
  private commit(): void {
    this.active.set(this.shadow);
    this.hits.fill(0);
    this.generation++;
  }

  private tableWrite(body: Buffer): Response {
    const req = decodeTableWrite(body);
    if (typeof req === 'string') return fail(Status.BAD_REQUEST, req);
    const { table, offset, data } = req;
    if (table === Table.TCAM_SHADOW) {
      if (offset + data.length > this.shadow.length)
        return fail(
          Status.BAD_TABLE,
          `TCAM_SHADOW ${offset}+${data.length} > ${this.shadow.length}`,
        );
      data.copy(this.shadow, offset);
    } else if (table === Table.FW_SLOT) {
      const r = this.firmwareData(offset, data);
      if (r) return r;
    } else {
      return fail(Status.BAD_TABLE, `table ${table} is not writable`);
    }
    return { status: Status.OK, body: encodeTableWritten(offset, data.length) };
  }

  private tableRead(body: Buffer): Response {
    const req = decodeTableRead(body);
    if (typeof req === 'string') return fail(Status.BAD_REQUEST, req);
    const { table, offset, length } = req;
    const source =
      table === Table.TCAM_SHADOW ? this.shadow : table === Table.TCAM_ACTIVE ? this.active : null;
    if (!source) return fail(Status.BAD_TABLE, `table ${table} is not readable`);
    if (offset + length > source.length)
      return fail(Status.BAD_TABLE, `${offset}+${length} > ${source.length}`);
    return { status: Status.OK, body: Buffer.from(source.subarray(offset, offset + length)) };
  }

  private readCounters(body: Buffer): Response {
    const req = decodeReadCounters(body);
    if (typeof req === 'string') return fail(Status.BAD_REQUEST, req);
    const { block, first, count } = req;
    const source =
      block === CounterBlock.PORT
        ? this.portCounters
        : block === CounterBlock.TCAM_HITS
          ? this.hits
          : null;
    if (!source) return fail(Status.BAD_TABLE, `counter block ${block}`);
    if (count < 1 || count > MAX_READ_COUNTERS || first + count > source.length)
      return fail(Status.BAD_TABLE, `counters ${first}+${count} of ${source.length}`);
    const values = Array.from(source.subarray(first, first + count), (n) => BigInt(n));
    return { status: Status.OK, body: encodeU64s(values) };
  }

  // ---- firmware -------------------------------------------------------

  private firmwareCommand(value: number): Response {
    const c = decodeFwControl(value);
    if (c.abort) {
      this.upload = { id: 0, size: 0, received: 0, buffer: Buffer.alloc(0) };
      this.fwState = FwStatusState.IDLE;
    }
    if (c.begin) {
      const size = this.regs.get(Reg.FW_IMAGE_SIZE) ?? 0;
      const id = this.regs.get(Reg.FW_IMAGE_ID) ?? 0;
      if (size < 1 || size > this.profile.firmware.slotBytes)
        return fail(
          Status.FAILED,
          `image size ${size} outside 1..${this.profile.firmware.slotBytes}`,
        );
      const resumable =
        this.upload.id === id &&
        this.upload.size === size &&
        this.fwState === FwStatusState.RECEIVING;
      if (!resumable) this.upload = { id, size, received: 0, buffer: Buffer.alloc(size) };
      this.fwState =
        this.upload.received === size ? FwStatusState.RECEIVED : FwStatusState.RECEIVING;
    }
    if (c.verify) this.verifyUpload();
    if (c.activate) {
      if (this.fwState !== FwStatusState.VERIFIED) return fail(Status.FAILED, 'no verified image');
      setImmediate(() => this.activate());
    }
    if (c.confirm) {
      if (this.trialSlot < 0) return fail(Status.FAILED, 'no image on trial');
      if (!this.healthy) return fail(Status.FAILED, 'the trial image is not healthy');
      this.endTrial();
      this.fwState = FwStatusState.CONFIRMED;
    }
    if (c.rollback) {
      if (this.trialSlot < 0) return fail(Status.FAILED, 'no image on trial');
      setImmediate(() => this.rollback());
    }
    return { status: Status.OK };
  }

  /** Data for the inactive slot: only in order, at the upload's current end (so a resume is exact). */
  private firmwareData(offset: number, data: Buffer): Response | null {
    if (this.fwState !== FwStatusState.RECEIVING)
      return fail(Status.BUSY, 'not receiving an image');
    if (offset !== this.upload.received)
      return fail(Status.BAD_TABLE, `expected offset ${this.upload.received}, got ${offset}`);
    if (offset + data.length > this.upload.size)
      return fail(Status.BAD_TABLE, `image is ${this.upload.size} bytes`);
    data.copy(this.upload.buffer, offset);
    this.upload.received += data.length;
    if (this.upload.received === this.upload.size) this.fwState = FwStatusState.RECEIVED;
    return null;
  }

  private verifyUpload(): void {
    if (this.fwState !== FwStatusState.RECEIVED && this.fwState !== FwStatusState.VERIFIED) return;
    const check = checkFirmwareImage(
      this.upload.buffer,
      this.profile.boardId,
      this.profile.firmware.signingKeys,
    );
    if (check.ok) {
      this.fwState = FwStatusState.VERIFIED;
      this.slots[1 - this.activeSlot] = {
        image: this.upload.buffer,
        version: check.header.version,
      };
    } else {
      this.fwState =
        check.reason === 'crc'
          ? FwStatusState.BAD_CRC
          : check.reason === 'signature' || check.reason === 'key'
            ? FwStatusState.BAD_SIGNATURE
            : FwStatusState.BAD_HEADER;
    }
    this.raise(EventOp.FIRMWARE, Buffer.from([this.fwState, 0, 0, 0, 0]));
  }

  /** Boots the inactive slot on trial; it must be confirmed within the boot timeout. */
  private activate(): void {
    const slot = 1 - this.activeSlot;
    const previous = this.activeSlot;
    this.upload = { id: 0, size: 0, received: 0, buffer: Buffer.alloc(0) };
    this.activeSlot = slot;
    this.trialSlot = previous;
    this.bootSlot(ResetReason.FIRMWARE_ACTIVATION);
    this.fwState = FwStatusState.TRIAL;
    this.trialTimer = setTimeout(() => this.rollback(), this.profile.firmware.bootTimeoutMs);
    this.trialTimer.unref();
  }

  private rollback(): void {
    if (this.trialSlot < 0) return;
    const previous = this.trialSlot;
    this.endTrial();
    this.activeSlot = previous;
    this.bootSlot(ResetReason.ROLLBACK);
    this.fwState = FwStatusState.ROLLED_BACK;
  }

  private endTrial(): void {
    if (this.trialTimer) clearTimeout(this.trialTimer);
    this.trialTimer = null;
    this.trialSlot = -1;
  }

  private bootSlot(reason: number): void {
    const image = this.slots[this.activeSlot].image;
    const manifest = image ? readManifest(image) : { healthy: true }; // the factory image
    this.healthy = manifest.healthy;
    this.hung = manifest.hang === true;
    this.restart(reason);
  }

  /** A restart: power-on state and a new boot (the link announces it). */
  restart(reason: number): void {
    this.powerOn();
    this.options.restarted?.(reason);
  }

  private raise(op: number, body: Buffer): void {
    if (this.hung) return;
    this.options.event?.(op, body);
  }

  // ---- data path ------------------------------------------------------

  private mirroring(): boolean {
    return ((this.regs.get(Reg.CONTROL) ?? 0) & 1) === 1 && !this.hung;
  }

  /**
   * One frame arriving on ingress port `inPort`: counted, looked up in the
   * active bank, and copied (sliced, with a trailer if set) to the monitor
   * ports its entry names. Returns the entry hit, or -1.
   */
  process(frame: Buffer, inPort: number, tsSec: number, tsNsec: number): number {
    const pc = this.portCounters;
    pc[inPort * PortCounter.COUNT + PortCounter.RX_FRAMES]++;
    pc[inPort * PortCounter.COUNT + PortCounter.RX_BYTES] += frame.length;
    if (!this.mirroring()) return -1;
    decodeFrame(frame, 0, frame.length, frame.length, LinkType.ETHERNET, this.view);
    const key = this.keyBuilder.build(this.view, inPort);
    const entry = lookupTcam(this.active, key, this.profile);
    if (entry < 0) return -1;
    this.hits[entry]++;
    const at = entry * this.geometry.entryBytes + 2 * this.geometry.keyBytes;
    const action = this.active.readUInt32LE(at);
    if ((action & 2) === 0) return entry; // COPY = 0: a skip entry
    const outPorts = (action >>> 8) & 0xff;
    const slice = action >>> 16;
    let copy = slice > 0 && slice < frame.length ? frame.subarray(0, slice) : frame;
    if ((this.regs.get(Reg.TIMESTAMP_CONTROL) ?? 0) === 1) {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32BE(tsSec >>> 0, 0);
      trailer.writeUInt32BE(tsNsec >>> 0, 4);
      copy = Buffer.concat([copy, trailer]);
    }
    for (let m = 0; m < this.monitors; m++) {
      if ((outPorts & (1 << m)) === 0) continue;
      const port = this.ingress + m;
      pc[port * PortCounter.COUNT + PortCounter.TX_FRAMES]++;
      pc[port * PortCounter.COUNT + PortCounter.TX_BYTES] += copy.length;
      this.options.emit?.(m, copy, tsSec, tsNsec);
    }
    return entry;
  }

  /** Frames lost on `port` (fault injection): counted and reported as an OVERFLOW event. */
  overflow(port: number, frames: number): void {
    this.portCounters[port * PortCounter.COUNT + PortCounter.OVERFLOW_DROPS] += frames;
    const body = Buffer.alloc(5);
    body[0] = port;
    body.writeUInt32LE(frames, 1);
    this.raise(EventOp.OVERFLOW, body);
  }

  /** For tests and the CLI's status line. */
  describe(): {
    activeSlot: number;
    /** The running slot's version, `major.minor.patch`. */
    firmware: string;
    fwState: number;
    generation: number;
    healthy: boolean;
    hung: boolean;
    /** The data path is on (CONTROL.MIRROR_ENABLE, and the image not hung). */
    mirroring: boolean;
  } {
    return {
      mirroring: this.mirroring(),
      activeSlot: this.activeSlot,
      firmware: formatFirmwareVersion(this.slots[this.activeSlot].version),
      fwState: this.fwState,
      generation: this.generation,
      healthy: this.healthy,
      hung: this.hung,
    };
  }

  /** The image header in the inactive slot (for tests). */
  inactiveImageVersion(): number | null {
    const image = this.slots[1 - this.activeSlot].image;
    if (!image) return null;
    const h = parseImageHeader(image);
    return typeof h === 'string' ? null : h.version;
  }
}

function fail(status: number, reason: string): Response {
  return { status, body: Buffer.from(reason) };
}
