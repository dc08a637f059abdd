/**
 * Typed operations on a tap board over a serial link: identify it against
 * its profile, program the filter table (shadow bank, read back, commit,
 * verify), switch mirroring, read counters, and update firmware (resumable
 * upload, verify, activate on trial, confirm or roll back).
 *
 * Programming never touches the active bank until the whole new table is on
 * the board and read back equal, so a failure at any point leaves the rules
 * in force as they were.
 */
import { LinkError, Status } from '@netmirror/serial-link';
import type { BoardEvent, HelloInfo, SerialLink } from '@netmirror/serial-link';
import { crc32 } from 'node:zlib';
import { checkFirmwareImage, formatFirmwareVersion, parseImageHeader } from './firmware-image.js';
import {
  CounterBlock,
  decodeFwStatus,
  decodeStatus,
  decodeTcamStatus,
  encodeControl,
  encodeFwControl,
  encodeTcamControl,
  encodeTimestampControl,
  TimestampControlMode,
  FwStatusState,
  PortCounter,
  Reg,
  REGMAP_VERSION,
  Table,
} from './generated/regmap.js';
import type { StatusFields } from './generated/regmap.js';
import type { BoardProfile } from './profiles.js';
import { tcamGeometry } from './profiles.js';

/** A board that is not what its profile says, or a programming that could not be verified. */
export class BoardError extends Error {
  override readonly name = 'BoardError';
}

export interface BoardIdentity {
  boardId: number;
  regmap: string;
  firmware: string;
  bootId: number;
  status: StatusFields;
}

export interface ProgramReport {
  /** Bytes written to the shadow bank (the entries in use). */
  bytes: number;
  chunks: number;
  /** Chunks written again (lost, refused, or read back different). */
  rewrites: number;
  /** Bank generation after the commit. */
  generation: number;
  ms: number;
}

export interface PortCounters {
  name: string;
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  overflowDrops: number;
}

export interface FirmwareProgress {
  phase: 'upload' | 'verify' | 'activate' | 'confirm' | 'done' | 'rolled-back';
  bytes: number;
  total: number;
  /** Set when the upload continued one that was interrupted. */
  resumedAt?: number;
}

export interface FirmwareReport {
  outcome: 'installed' | 'rolled-back';
  version: string;
  resumedAt: number;
  message: string;
}

/** The smallest table chunk tried before programming gives up on a noisy line... */
const MIN_CHUNK = 32;
/** ...after the link gave up on one that small this many times (a dead line fails in seconds). */
const SMALL_CHUNK_ROUNDS = 4;
/** Chunk writes in flight at once (the link queues beyond its window). */
const IN_FLIGHT = 8;
/** A table is written in about this many chunks (fewer when chunks would get smaller than MIN_EVEN_CHUNK). */
const TARGET_CHUNKS = 48;
const MIN_EVEN_CHUNK = 256;
/** Clean chunks before a halved chunk size doubles again. */
const CLEAN_TO_GROW = 8;

export class BoardClient {
  constructor(
    readonly link: SerialLink,
    readonly profile: BoardProfile,
  ) {}

  /** HELLO, then checks the board against the profile (id, register map, table geometry). */
  async identify(): Promise<BoardIdentity> {
    const hello = await this.hello();
    const p = this.profile;
    const g = tcamGeometry(p);
    const [boardId, regmap, fw, status] = await this.link.readRegs(Reg.BOARD_ID, 4);
    const [entries, keyBytes, entryBytes] = await this.link.readRegs(Reg.TCAM_ENTRIES, 3);
    const problems: string[] = [];
    if (boardId !== p.boardId)
      problems.push(`board id 0x${hex(boardId)}, the ${p.id} profile says 0x${hex(p.boardId)}`);
    if (regmap >>> 16 !== REGMAP_VERSION.major)
      problems.push(
        `register map ${regmap >>> 16}.${regmap & 0xffff}, this agent speaks ${REGMAP_VERSION.major}.x`,
      );
    if (entries !== p.tcam.entries || keyBytes !== g.keyBytes || entryBytes !== g.entryBytes)
      problems.push(
        `filter table ${entries} × ${entryBytes} bytes (key ${keyBytes}), the profile says ${p.tcam.entries} × ${g.entryBytes} (key ${g.keyBytes})`,
      );
    if (problems.length > 0)
      throw new BoardError(`the board on this port is not a ${p.id}: ${problems.join('; ')}`);
    return {
      boardId,
      regmap: `${regmap >>> 16}.${regmap & 0xffff}`,
      firmware: formatFirmwareVersion(fw),
      bootId: hello.bootId,
      status: decodeStatus(status),
    };
  }

  /** HELLO; a board that restarts meanwhile (its RESET crossing our HELLO) is greeted again. */
  async hello(): Promise<HelloInfo> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.link.hello();
      } catch (e) {
        if (!(e instanceof LinkError) || e.code !== 'reset' || attempt >= 3) throw e;
      }
    }
  }

  async status(): Promise<StatusFields> {
    const [word] = await this.link.readRegs(Reg.STATUS, 1);
    return decodeStatus(word);
  }

  /** Timestamp trailers on the copies (only modes the profile lists). */
  async setTimestamps(mode: 'NONE' | 'TRAILER'): Promise<void> {
    if (!this.profile.timestamps.modes.includes(mode))
      throw new BoardError(
        `the ${this.profile.id} has no ${mode.toLowerCase()} timestamps (it has ${this.profile.timestamps.modes.join(', ').toLowerCase()})`,
      );
    await this.link.writeRegs(Reg.TIMESTAMP_CONTROL, [
      encodeTimestampControl({ mode: TimestampControlMode[mode] }),
    ]);
  }

  async setMirroring(on: boolean): Promise<void> {
    await this.link.writeRegs(Reg.CONTROL, [encodeControl({ mirrorEnable: on ? 1 : 0 })]);
  }

  /**
   * Writes `bank` (a whole bank image; only its first `usedBytes` are sent,
   * the rest is cleared on the board) to the shadow bank, reads every chunk
   * back, checks the shadow CRC, commits, and checks the active CRC.
   */
  async programTcam(bank: Buffer, usedBytes = bank.length): Promise<ProgramReport> {
    const started = Date.now();
    const expectedCrc = crc32(bank);
    await this.link.writeRegs(Reg.TCAM_CONTROL, [encodeTcamControl({ clearShadow: 1 })]);
    const { chunks, rewrites } = await this.writeVerified(bank.subarray(0, usedBytes));
    const before = await this.tcamRegisters();
    if (before.shadowCrc !== expectedCrc)
      throw new BoardError(
        `filter table not committed: the shadow bank's CRC is 0x${hex(before.shadowCrc)}, expected 0x${hex(expectedCrc)} (the rules in force are unchanged)`,
      );
    await this.commitOnce(expectedCrc);
    const after = await this.tcamRegisters();
    if (after.activeCrc !== expectedCrc)
      throw new BoardError(
        `after the commit the active bank's CRC is 0x${hex(after.activeCrc)}, expected 0x${hex(expectedCrc)}`,
      );
    if (after.generation === before.generation)
      throw new BoardError('the board did not commit the filter table (generation unchanged)');
    return {
      bytes: usedBytes,
      chunks,
      rewrites,
      generation: after.generation,
      ms: Date.now() - started,
    };
  }

  /** TCAM_STATUS through TCAM_ACTIVE_CRC in one read. */
  private async tcamRegisters(): Promise<{
    generation: number;
    shadowCrc: number;
    activeCrc: number;
  }> {
    const r = await this.link.readRegs(
      Reg.TCAM_STATUS,
      (Reg.TCAM_ACTIVE_CRC - Reg.TCAM_STATUS) / 4 + 1,
    );
    const at = (reg: number): number => r[(reg - Reg.TCAM_STATUS) / 4] >>> 0;
    return {
      generation: decodeTcamStatus(at(Reg.TCAM_STATUS)).generation,
      shadowCrc: at(Reg.TCAM_SHADOW_CRC),
      activeCrc: at(Reg.TCAM_ACTIVE_CRC),
    };
  }

  /** COMMIT; if its answer is lost, the active CRC tells whether it happened. */
  private async commitOnce(expectedCrc: number): Promise<void> {
    try {
      await this.link.writeRegs(Reg.TCAM_CONTROL, [encodeTcamControl({ commit: 1 })]);
    } catch (e) {
      if (!(e instanceof LinkError) || e.code !== 'timeout') throw e;
      const [activeCrc] = await this.link.readRegs(Reg.TCAM_ACTIVE_CRC, 1);
      if (activeCrc >>> 0 !== expectedCrc) throw e;
    }
  }

  /**
   * Writes `data` to the shadow bank from offset 0 in chunks, several in
   * flight, each read back and compared. A chunk the link gave up on is
   * split in two and tried again; the chunk size halves while the line loses
   * frames and grows back when it is clean.
   */
  private async writeVerified(data: Buffer): Promise<{ chunks: number; rewrites: number }> {
    // Enough chunks to keep both directions of the line busy (the last chunk's
    // read-back is time the line is half idle), not so small that framing costs.
    const max = Math.min(
      this.link.maxTableChunk,
      Math.max(MIN_EVEN_CHUNK, 4 * Math.ceil(data.length / TARGET_CHUNKS / 4)),
    );
    let size = max;
    let clean = 0;
    let chunks = 0;
    let rewrites = 0;
    // [offset, length, rounds the link gave up on it] still to write, in order
    const pending: [number, number, number][] = [];
    let next = 0;
    const take = (): [number, number, number] | null => {
      if (pending.length > 0) return pending.shift() ?? null;
      if (next >= data.length) return null;
      const len = Math.min(size, data.length - next);
      const piece: [number, number, number] = [next, len, 0];
      next += len;
      return piece;
    };
    const one = async (offset: number, len: number, failures: number): Promise<void> => {
      const part = data.subarray(offset, offset + len);
      try {
        await this.link.tableWrite(Table.TCAM_SHADOW, offset, part);
        const back = await this.link.tableRead(Table.TCAM_SHADOW, offset, len);
        chunks++;
        if (!back.equals(part)) {
          rewrites++;
          pending.push([offset, len, failures]);
          return;
        }
        if (++clean >= CLEAN_TO_GROW && size < max) {
          size = Math.min(max, size * 2);
          clean = 0;
        }
      } catch (e) {
        if (!(e instanceof LinkError) || e.code !== 'timeout') throw e;
        rewrites++;
        clean = 0;
        size = Math.max(MIN_CHUNK, Math.min(size, Math.floor(len / 2)));
        if (len > MIN_CHUNK) {
          const half = Math.ceil(len / 2);
          pending.unshift([offset, half, 0], [offset + half, len - half, 0]);
        } else if (failures + 1 < SMALL_CHUNK_ROUNDS) {
          pending.unshift([offset, len, failures + 1]);
        } else {
          throw new BoardError(
            `programming failed: the serial line loses even ${len}-byte frames (${e.message}); the rules in force are unchanged`,
            { cause: e },
          );
        }
      }
    };
    const workers = Array.from({ length: IN_FLIGHT }, async () => {
      for (let piece = take(); piece; piece = take()) await one(...piece);
    });
    await Promise.all(workers);
    // A worker may have finished while another queued a rewrite: drain what is left.
    for (let piece = take(); piece; piece = take()) await one(...piece);
    return { chunks, rewrites };
  }

  /** Per-port counters, ingress ports then monitor ports, named as in the profile. */
  async portCounters(): Promise<PortCounters[]> {
    const n = this.profile.ports.length;
    const values = await this.link.readCounters(CounterBlock.PORT, 0, n * PortCounter.COUNT);
    return this.profile.ports.map((port, i) => {
      const at = i * PortCounter.COUNT;
      return {
        name: port.name,
        rxFrames: Number(values[at + PortCounter.RX_FRAMES]),
        rxBytes: Number(values[at + PortCounter.RX_BYTES]),
        txFrames: Number(values[at + PortCounter.TX_FRAMES]),
        txBytes: Number(values[at + PortCounter.TX_BYTES]),
        overflowDrops: Number(values[at + PortCounter.OVERFLOW_DROPS]),
      };
    });
  }

  /** Frames that hit each of the first `count` entries since the last commit. */
  async entryHits(count: number): Promise<number[]> {
    const out: number[] = [];
    for (let first = 0; first < count; first += 120) {
      const n = Math.min(120, count - first);
      out.push(...(await this.link.readCounters(CounterBlock.TCAM_HITS, first, n)).map(Number));
    }
    return out;
  }

  /**
   * Installs a signed image: checked here first (a bad signature never
   * reaches the board), uploaded to the inactive slot from where an earlier
   * interrupted upload stopped, verified by the board, booted on trial, and
   * confirmed once the board answers healthy with the new version; otherwise
   * rolled back (by us, or by the board's own boot timer when it does not
   * answer).
   */
  async installFirmware(
    image: Buffer,
    onProgress: (p: FirmwareProgress) => void = () => undefined,
    options: { checkLocally?: boolean } = {},
  ): Promise<FirmwareReport> {
    const p = this.profile;
    if (options.checkLocally !== false) {
      const check = checkFirmwareImage(image, p.boardId, p.firmware.signingKeys);
      if (!check.ok) throw new BoardError(`firmware image refused: ${check.message}`);
    }
    const header = parseImageHeader(image);
    const version = typeof header === 'string' ? '?' : formatFirmwareVersion(header.version);
    const id = crc32(image);
    await this.link.writeRegs(Reg.FW_IMAGE_SIZE, [image.length, id]);
    await this.link.writeRegs(Reg.FW_CONTROL, [encodeFwControl({ begin: 1 })]);
    const [received] = await this.link.readRegs(Reg.FW_UPLOAD_BYTES, 1);
    const resumedAt = received;
    const chunk = this.link.maxTableChunk;
    onProgress({
      phase: 'upload',
      bytes: received,
      total: image.length,
      ...(received > 0 ? { resumedAt } : {}),
    });
    // In order, one at a time: the board takes slot data only at its current end.
    for (let at = received; at < image.length;) {
      const len = Math.min(chunk, image.length - at);
      try {
        await this.link.tableWrite(Table.FW_SLOT, at, image.subarray(at, at + len));
        at += len;
      } catch (e) {
        // A retried chunk the board had already taken is refused as out of order: ask where it is.
        if (!(e instanceof LinkError) || e.status !== Status.BAD_TABLE) throw e;
        const [now] = await this.link.readRegs(Reg.FW_UPLOAD_BYTES, 1);
        if (now === at) throw e;
        at = now;
      }
      onProgress({ phase: 'upload', bytes: at, total: image.length });
    }
    onProgress({ phase: 'verify', bytes: image.length, total: image.length });
    await this.link.writeRegs(Reg.FW_CONTROL, [encodeFwControl({ verify: 1 })]);
    const state = decodeFwStatus((await this.link.readRegs(Reg.FW_STATUS, 1))[0]).state;
    if (state !== FwStatusState.VERIFIED)
      throw new BoardError(
        `the board refused the image: ${fwStateName(state)} (the running firmware is unchanged)`,
      );
    onProgress({ phase: 'activate', bytes: image.length, total: image.length });
    return this.activateAndConfirm(version, resumedAt, onProgress, image.length);
  }

  private async activateAndConfirm(
    version: string,
    resumedAt: number,
    onProgress: (p: FirmwareProgress) => void,
    total: number,
  ): Promise<FirmwareReport> {
    const bootMs = this.profile.firmware.bootTimeoutMs;
    const reset = this.nextReset(bootMs * 2 + 5000);
    await this.link.writeRegs(Reg.FW_CONTROL, [encodeFwControl({ activate: 1 })]);
    const first = await reset;
    if (first.reason === 4 /* ROLLBACK */)
      return this.rolledBack(
        version,
        resumedAt,
        onProgress,
        total,
        'the board did not answer after booting it and reverted on its own',
      );
    await this.hello();
    const status = await this.status();
    const [fw] = await this.link.readRegs(Reg.FW_VERSION, 1);
    if (status.healthy === 1 && formatFirmwareVersion(fw) === version) {
      onProgress({ phase: 'confirm', bytes: total, total });
      await this.link.writeRegs(Reg.FW_CONTROL, [encodeFwControl({ confirm: 1 })]);
      onProgress({ phase: 'done', bytes: total, total });
      return {
        outcome: 'installed',
        version,
        resumedAt,
        message: `firmware ${version} installed and confirmed`,
      };
    }
    const back = this.nextReset(bootMs + 5000);
    await this.link.writeRegs(Reg.FW_CONTROL, [encodeFwControl({ rollback: 1 })]);
    await back;
    const why =
      status.healthy === 1
        ? `it came up as ${formatFirmwareVersion(fw)}, not ${version}`
        : 'it failed its self-test';
    return this.rolledBack(version, resumedAt, onProgress, total, why);
  }

  private async rolledBack(
    version: string,
    resumedAt: number,
    onProgress: (p: FirmwareProgress) => void,
    total: number,
    why: string,
  ): Promise<FirmwareReport> {
    await this.hello();
    const [fw] = await this.link.readRegs(Reg.FW_VERSION, 1);
    onProgress({ phase: 'rolled-back', bytes: total, total });
    return {
      outcome: 'rolled-back',
      version,
      resumedAt,
      message: `firmware ${version} rolled back: ${why}; running ${formatFirmwareVersion(fw)} again`,
    };
  }

  /** The next RESET event (the board restarting), or an error after `ms`. */
  private nextReset(ms: number): Promise<Extract<BoardEvent, { type: 'reset' }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new BoardError(`the board did not restart within ${ms} ms`));
      }, ms);
      const off = this.link.onEvent((e) => {
        if (e.type !== 'reset') return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }
}

function fwStateName(state: number): string {
  for (const [name, v] of Object.entries(FwStatusState)) if (v === state) return name;
  return String(state);
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
