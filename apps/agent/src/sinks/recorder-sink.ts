import { closeSync, existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RECORD_FILE_BYTES } from '@netmirror/rules';
import { PcapngSink } from './pcapng-sink.js';
import type { SinkQueueOptions, SourceInterface } from './sink.js';
import { makeDirectory } from '../files/index.js';

/** How long recordings are kept and how they are cut into files (the fleet manager's retention domain). */
export interface RetentionSettings {
  /** Start a new file once this many bytes are written (default 256 MiB; the last frame may overshoot). */
  fileBytes: number;
  /** Start a new file after this many seconds (0: never by time). */
  fileSeconds: number;
  /** Delete files older than this (0: keep by age). */
  maxAgeSeconds: number;
  /** Delete the oldest files while all together take more (0: no limit). */
  maxTotalBytes: number;
}

export const DEFAULT_RETENTION: RetentionSettings = {
  fileBytes: DEFAULT_RECORD_FILE_BYTES,
  fileSeconds: 0,
  maxAgeSeconds: 0,
  maxTotalBytes: 0,
};

const FILE_PATTERN = /^netmirror-\d{8}T\d{6}Z-\d{6}\.pcapng$/;

/**
 * `record:DIR`: the local recorder. pcapng files in DIR, rotated by size and
 * time, each a complete capture (section, interfaces, statistics); after each
 * rotation, and when the retention settings change, files are deleted oldest
 * first while they are too old or all of them take too much space. The file
 * being written is never deleted.
 */
export class RecorderSink extends PcapngSink {
  private settings: RetentionSettings;
  private sequence = 0;
  private openedAt = 0;

  constructor(
    name: string,
    uri: string,
    readonly dir: string,
    retention: Partial<RetentionSettings> = {},
    options: SinkQueueOptions = {},
  ) {
    super(name, uri, '', options);
    this.settings = { ...DEFAULT_RETENTION, ...retention };
    this.path = this.nextPath();
  }

  override async open(interfaces: readonly SourceInterface[]): Promise<void> {
    makeDirectory(this.dir);
    await super.open(interfaces);
    this.prune();
  }

  /** New retention settings, in effect from the next write (and pruning at once). */
  setRetention(settings: Partial<RetentionSettings>): void {
    this.settings = { ...this.settings, ...settings };
    this.prune();
  }

  get retention(): RetentionSettings {
    return { ...this.settings };
  }

  /** Paths of the recording's files, oldest first. */
  files(): string[] {
    return readdirSync(this.dir)
      .filter((f) => FILE_PATTERN.test(f))
      .sort()
      .map((f) => join(this.dir, f));
  }

  protected override openFile(header: Buffer): void {
    super.openFile(header);
    this.openedAt = Date.now();
  }

  protected override roomInFile(): number {
    const s = this.settings;
    if (
      s.fileSeconds > 0 &&
      Date.now() - this.openedAt >= s.fileSeconds * 1000 &&
      this.fileBytes > this.headerLength
    ) {
      return 0;
    }
    return s.fileBytes - this.fileBytes;
  }

  protected override rotate(): void {
    this.appendSync(this.statisticsBlocks());
    closeSync(this.fd);
    this.fd = -1;
    this.path = this.nextPath();
    this.openFile(this.fileHeader());
    this.prune();
  }

  private nextPath(): string {
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    this.sequence++;
    return join(this.dir, `netmirror-${stamp}-${String(this.sequence).padStart(6, '0')}.pcapng`);
  }

  /** Deletes the oldest files (never the current one) while retention says so. */
  private prune(): void {
    const { maxAgeSeconds, maxTotalBytes } = this.settings;
    if ((maxAgeSeconds <= 0 && maxTotalBytes <= 0) || !existsSync(this.dir)) return;
    const files = this.files()
      .filter((f) => f !== this.path)
      .map((path) => ({ path, ...statOf(path) }));
    let total = files.reduce((n, f) => n + f.size, 0) + this.fileBytes;
    const now = Date.now();
    for (const f of files) {
      const tooOld = maxAgeSeconds > 0 && now - f.mtimeMs > maxAgeSeconds * 1000;
      const tooMuch = maxTotalBytes > 0 && total > maxTotalBytes;
      if (!tooOld && !tooMuch) continue;
      try {
        unlinkSync(f.path);
        total -= f.size;
      } catch (err) {
        this.lastError = `${f.path}: ${(err as Error).message}`;
      }
    }
  }
}

function statOf(path: string): { size: number; mtimeMs: number } {
  try {
    const s = statSync(path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch {
    return { size: 0, mtimeMs: Date.now() };
  }
}
