import type { BoardProfile, FirmwareProgress, FirmwareReport } from '@netmirror/fpga';
import {
  boardBaudRate,
  BoardClient,
  BoardError,
  encodeTcamBank,
  loadBoardProfile,
  monitorPorts,
  tcamGeometry,
  tcamTarget,
} from '@netmirror/fpga';
import type { MirrorRule } from '@netmirror/rules';
import { compileRulesTcam, parseDestination } from '@netmirror/rules';
import { LinkError, openSerialTransport, SerialLink } from '@netmirror/serial-link';
import type { CaptureSession, MirrorConfig, MirrorSummary } from '../pipeline/index.js';
import { PortCounts } from './port-counts.js';
import type { PortCounterKey } from './port-counts.js';
import { newPipelineCounters, PendingConfiguration } from '../pipeline/index.js';

/** How often the board's counters are read while running. */
const COUNTERS_MS = 1000;
/**
 * Per-entry hit counters are 8 bytes an entry: a full 2,048-entry table is
 * 16 KiB, more than a 115,200-baud line carries in a second. They are read
 * at most as often as keeps them under this share of the line.
 */
const HITS_LINE_SHARE = 0.1;
const TICK_MS = 50;
/** Requests outstanding on the line (the boards take 8): enough to keep both directions busy. */
const LINK_WINDOW = 8;
/** Wait between attempts to reach a board that does not answer. */
const RECONNECT_MS = [500, 1000, 2000, 5000];

/** A firmware install waiting for (or running on) the session's loop. */
interface FirmwareJob {
  image: Buffer;
  onProgress: (p: FirmwareProgress) => void;
  resolve: (r: FirmwareInstallOutcome) => void;
  reject: (e: Error) => void;
}

/** The board's report, and what the session saw around it. */
export interface FirmwareInstallOutcome extends FirmwareReport {
  /** Firmware version the board ran before and runs after (null if it could not be read). */
  previous: string | null;
  running: string | null;
  /** The rules in force are on the board again and it is mirroring (after the restarts an install makes). */
  rulesRestored: boolean;
}

export interface FpgaSource {
  uri: string;
  /** The serial port (a tty, or a pty for the emulator). */
  path: string;
  profile: BoardProfile;
  baudRate: number;
  /** TRAILER: the board appends its 8-byte timestamp to every copy. */
  timestamps: 'NONE' | 'TRAILER';
}

/**
 * `fpga:PORT?board=ID[&baud=N][&timestamps=none|trailer]`: parses the source URI and loads the board's
 * profile. Throws naming what is wrong.
 */
export function parseFpgaSource(uri: string): FpgaSource {
  const m = /^fpga:([^?]+)(?:\?(.*))?$/.exec(uri);
  if (!m) throw new Error(`--from ${uri}: expected fpga:SERIALPORT?board=PROFILE[&baud=N]`);
  const params = new URLSearchParams(m[2] ?? '');
  for (const key of params.keys())
    if (key !== 'board' && key !== 'baud' && key !== 'timestamps')
      throw new Error(`--from ${uri}: unknown option ${key}; fpga takes board, baud, timestamps`);
  const board = params.get('board');
  if (!board) throw new Error(`--from ${uri}: which board? add ?board=PROFILE (e.g. nm-tap-4x10g)`);
  const profile = loadBoardProfile(board);
  const baudText = params.get('baud');
  let baudRate: number;
  try {
    baudRate = boardBaudRate(profile, baudText);
  } catch (e) {
    throw new Error(`--from ${uri}: baud ${baudText}: ${(e as Error).message}`, { cause: e });
  }
  const ts = (params.get('timestamps') ?? 'none').toUpperCase();
  if (ts !== 'NONE' && ts !== 'TRAILER')
    throw new Error(`--from ${uri}: timestamps=${params.get('timestamps')}: none or trailer`);
  if (!profile.timestamps.modes.includes(ts))
    throw new Error(`--from ${uri}: the ${profile.id} has no ${ts.toLowerCase()} timestamps`);
  return { uri, path: m[1], profile, baudRate, timestamps: ts };
}

/**
 * The mirror session of a hardware tap board: the copies are made by the
 * board; this loop compiles each configuration's rules to the board's filter
 * table and programs it (the board's rules change atomically, and a table
 * that fails to program or verify leaves the previous rules in force), reads
 * the board's counters, and reprograms a board that restarted. Stopping
 * leaves the board mirroring with the rules in force: a hardware tap keeps
 * copying while its agent restarts.
 */
export class FpgaTapSession implements CaptureSession {
  private stopped = false;
  private readonly pending = new PendingConfiguration();
  private link: SerialLink | null = null;
  private client: BoardClient | null = null;
  /** The serial port went away (a USB-serial adapter unplugged): open it again. */
  private lineLost = false;
  private startedAt = 0;
  /** The configuration on the board, and which rule each of its entries belongs to. */
  private applied: { config: MirrorConfig; entryRules: number[] } | null = null;
  private readonly counts: PortCounts;
  private ruleHits: number[] = [];
  private hitsReadAt = 0;
  private boardRestarted = false;
  private lastError: string | null = null;
  private firmwareJob: FirmwareJob | null = null;
  /** run() has returned or thrown: nothing queued now would ever run. */
  private ended = false;
  /** The board's firmware version as last read (identify), null before the board answered. */
  private firmware: string | null = null;

  constructor(
    private readonly source: FpgaSource,
    private config: MirrorConfig,
  ) {
    if (config.filter)
      throw new Error(
        `${source.uri}: a hardware tap takes no --filter; put the match in the rules`,
      );
    this.outPortsOf(config); // destinations checked up front
    this.counts = new PortCounts(source.profile.ports.length);
  }

  stop(): void {
    this.stopped = true;
  }

  /** The board profile this session drives. */
  get profile(): BoardProfile {
    return this.source.profile;
  }

  /** The board's firmware version as last read; null until the board has answered. */
  get firmwareVersion(): string | null {
    return this.firmware;
  }

  /**
   * Installs a firmware image on the board, on the session's own loop: never
   * while a filter table is being programmed or counters read. The board
   * restarts on activation (and again on a rollback), which empties its
   * table and stops mirroring; the session puts the rules in force back
   * before this resolves. Rejects with the board's BoardError for an image
   * it refuses (the running firmware is unchanged), and at once if another
   * install is queued or running.
   */
  installFirmware(
    image: Buffer,
    onProgress: (p: FirmwareProgress) => void = () => undefined,
  ): Promise<FirmwareInstallOutcome> {
    if (this.stopped || this.ended)
      return Promise.reject(new Error(`${this.source.uri}: the session has stopped`));
    if (this.firmwareJob)
      return Promise.reject(
        new Error(`${this.source.uri}: a firmware install is already in progress`),
      );
    return new Promise((resolve, reject) => {
      this.firmwareJob = { image, onProgress, resolve, reject };
    });
  }

  reconfigure(config: MirrorConfig): Promise<void> {
    if (config.filter)
      return Promise.reject(
        new Error('a hardware tap takes no filter; put the match in the rules'),
      );
    return this.pending.offer(config);
  }

  async run(): Promise<MirrorSummary> {
    this.startedAt = Date.now();
    try {
      await this.connect();
      await this.apply(this.config);
      await this.start();
      let lastRead = 0;
      while (!this.stopped) {
        const next = this.pending.take();
        if (next) await this.apply(next.config).then(() => next.done(), next.done);
        if (this.lineLost) await this.reconnect();
        if (this.firmwareJob) await this.runFirmwareJob(this.firmwareJob);
        if (this.boardRestarted) await this.recover();
        if (Date.now() - lastRead >= COUNTERS_MS) {
          lastRead = Date.now();
          await this.readCounters().catch((e: unknown) => this.noteError(e));
        }
        await sleep(TICK_MS);
      }
      await this.readCounters(true).catch(() => undefined);
    } finally {
      this.ended = true;
      this.firmwareJob?.reject(new Error(`${this.source.uri}: the session stopped`));
      this.firmwareJob = null;
      this.pending.close();
      await this.link?.close().catch(() => undefined);
    }
    return this.snapshot();
  }

  /** Opens the port and greets the board, retrying while it does not answer (until stopped). */
  private async connect(): Promise<void> {
    const { path, baudRate, profile } = this.source;
    for (let attempt = 0; ; attempt++) {
      try {
        const transport = await openSerialTransport(path, baudRate);
        const link = new SerialLink(transport, { baudRate, window: LINK_WINDOW });
        transport.onClose(() => {
          if (this.link === link) this.lineLost = true;
        });
        link.onEvent((e) => {
          if (e.type === 'reset') this.boardRestarted = true;
        });
        const client = new BoardClient(link, profile);
        try {
          this.firmware = (await client.identify()).firmware;
        } catch (e) {
          await link.close().catch(() => undefined);
          throw e;
        }
        this.link = link;
        this.client = client;
        this.boardRestarted = false;
        this.counts.startFrom(await client.portCounters());
        return;
      } catch (e) {
        this.noteError(e);
        // A wrong board is not going to become the right one: give up at once. A
        // silent board or a port that is not there (yet) is waited for.
        if (e instanceof BoardError || this.stopped) throw e;
        await sleep(RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)]);
      }
    }
  }

  /** The port is back (or waited for until stopped): the rules in force go on the board again. */
  private async reconnect(): Promise<void> {
    this.lineLost = false;
    const old = this.link;
    this.link = null;
    this.client = null;
    await old?.close().catch(() => undefined);
    try {
      await this.connect(); // counts on from the board's counters as they are now
      if (this.applied) {
        await this.program(this.applied.config);
        await this.start();
      }
    } catch (e) {
      this.noteError(e);
      if (!this.stopped && !this.client)
        this.lineLost = true; // try again
      else this.boardRestarted = true;
    }
  }

  /**
   * One install, start to end: the board's own flow (upload, verify,
   * activate on trial, confirm or roll back), then — as the board restarted
   * on activation, and again on a rollback, with an empty table and
   * mirroring off — the rules in force programmed again (recover(), driven
   * by the RESET events like any other restart) before the job resolves.
   */
  private async runFirmwareJob(job: FirmwareJob): Promise<void> {
    const client = this.client;
    const previous = this.firmware;
    try {
      if (!client) throw new Error(`${this.source.uri}: the board is not connected`);
      const report = await client.installFirmware(job.image, job.onProgress);
      // Either outcome went through at least one restart (activation), whose RESET
      // event set boardRestarted already; recover() reads the version again.
      this.boardRestarted = true;
      this.firmware = null;
      await this.recover();
      job.resolve({
        ...report,
        previous,
        running: this.firmware,
        rulesRestored: !this.boardRestarted,
      });
    } catch (e) {
      this.noteError(e);
      job.reject(e as Error);
    } finally {
      this.firmwareJob = null;
    }
  }

  /** The board restarted (power, watchdog): its table is empty; put the rules in force back. */
  private async recover(): Promise<void> {
    this.boardRestarted = false;
    if (!this.client || !this.applied) return;
    this.counts.restarted();
    try {
      this.firmware = (await this.client.identify()).firmware;
      await this.program(this.applied.config);
      await this.start();
    } catch (e) {
      this.noteError(e);
      this.boardRestarted = true; // try again next tick
    }
  }

  /** Timestamps as configured, and the data path on. */
  private async start(): Promise<void> {
    await this.client?.setTimestamps(this.source.timestamps);
    await this.client?.setMirroring(true);
  }

  /** Programs `config`; on a restart in the middle, once more from the start. */
  private async apply(config: MirrorConfig): Promise<void> {
    try {
      await this.program(config);
    } catch (e) {
      if (!(e instanceof LinkError) || e.code !== 'reset' || !this.client) throw e;
      this.boardRestarted = false;
      await this.client.identify();
      await this.program(config);
    }
    this.config = config;
  }

  private async program(config: MirrorConfig): Promise<void> {
    const client = this.client;
    if (!client) throw new Error(`${this.source.uri}: the board is not connected`);
    const outPorts = this.outPortsOf(config);
    const profile = this.source.profile;
    const program = compileRulesTcam(
      config.ruleSet,
      tcamTarget(profile, (_rule, index) => outPorts[index]),
    );
    const bank = encodeTcamBank(program.entries, profile);
    await client.programTcam(bank, program.entries.length * tcamGeometry(profile).entryBytes);
    this.applied = { config, entryRules: program.entries.map((e) => e.rule) };
    this.ruleHits = config.ruleSet.rules.map(() => 0);
    this.hitsReadAt = 0; // the new entries' hits at the next read
  }

  /** Monitor-port bitmask of each rule's destinations; throws for a destination the board cannot reach. */
  private outPortsOf(config: MirrorConfig): number[] {
    const monitors = monitorPorts(this.source.profile).map((p) => p.name);
    const defaults = [...config.sinks]
      .filter(([, s]) => config.defaultSinks.includes(s))
      .map(([n]) => n);
    const bit = (name: string): number => {
      const sink = config.sinks.get(name);
      if (!sink) throw new Error(`${this.source.uri}: unknown destination ${name}`);
      const d = parseDestination(sink.uri);
      if (d.kind !== 'board')
        throw new Error(
          `${this.source.uri}: the board copies in hardware to its monitor ports (${monitors.map((m) => `board:${m}`).join(', ')}); ${sink.uri} needs a software tap (afpacket:)`,
        );
      const i = monitors.indexOf(d.port);
      if (i < 0)
        throw new Error(
          `${sink.uri}: the ${this.source.profile.id}'s monitor ports are ${monitors.join(', ')}`,
        );
      return 1 << i;
    };
    return config.ruleSet.rules.map((rule: MirrorRule) =>
      (rule.destinations.length > 0 ? rule.destinations : defaults).reduce((m, n) => m | bit(n), 0),
    );
  }

  /** Port counters; per-entry hits too when their turn has come (or `final`). */
  private async readCounters(final = false): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.counts.update(await client.portCounters());
    const entries = this.applied?.entryRules.length ?? 0;
    const hitsEveryMs = (((entries * 8 * 10) / this.source.baudRate) * 1000) / HITS_LINE_SHARE;
    if (this.applied && entries > 0 && (final || Date.now() - this.hitsReadAt >= hitsEveryMs)) {
      this.hitsReadAt = Date.now();
      const hits = await client.entryHits(this.applied.entryRules.length);
      const perRule = this.applied.config.ruleSet.rules.map(() => 0);
      hits.forEach((n, i) => (perRule[this.applied!.entryRules[i]] += n));
      this.ruleHits = perRule;
    }
    this.lastError = null;
  }

  private noteError(e: unknown): void {
    this.lastError = (e as Error).message;
  }

  snapshot(): MirrorSummary {
    const profile = this.source.profile;
    const delta = (i: number, key: PortCounterKey): number => this.counts.total(i, key);
    const ingress = profile.ports.filter((p) => p.role === 'ingress');
    const counters = newPipelineCounters();
    counters.read = ingress.reduce((n, _p, i) => n + delta(i, 'rxFrames'), 0);
    counters.bytesRead = ingress.reduce((n, _p, i) => n + delta(i, 'rxBytes'), 0);
    const config = this.applied?.config ?? this.config;
    const rules = config.ruleSet.rules;
    counters.matched = rules.reduce(
      (n, r, i) => n + (r.action === 'mirror' ? (this.ruleHits[i] ?? 0) : 0),
      0,
    );
    counters.skipped = rules.reduce(
      (n, r, i) => n + (r.action === 'skip' ? (this.ruleHits[i] ?? 0) : 0),
      0,
    );
    counters.mirrored = counters.matched;
    counters.unmatched = Math.max(0, counters.read - counters.matched - counters.skipped);
    // A monitor port is reported under the name the configuration gives it (else its own).
    const nameOf = (port: string): string =>
      [...config.sinks].find(([, sink]) => sink.uri === `board:${port}`)?.[0] ?? port;
    return {
      source: this.source.uri,
      elapsedSec: this.startedAt === 0 ? 0 : (Date.now() - this.startedAt) / 1000,
      counters,
      rules: rules.map((r, i) => ({
        name: r.name,
        matched: this.ruleHits[i] ?? 0,
        sampledOut: 0,
        deduplicated: 0,
        mirrored: r.action === 'mirror' ? (this.ruleHits[i] ?? 0) : 0,
      })),
      sourceDropped: profile.ports.reduce((n, _p, i) => n + delta(i, 'overflowDrops'), 0),
      interfaces: ingress.map((p, i) => ({
        name: p.name,
        read: delta(i, 'rxFrames'),
        bytes: delta(i, 'rxBytes'),
        dropped: delta(i, 'overflowDrops'),
      })),
      destinations: monitorPorts(profile).map((port) => {
        const i = profile.ports.indexOf(port);
        return {
          name: nameOf(port.name),
          uri: `board:${port.name}`,
          offered: delta(i, 'txFrames'),
          sent: delta(i, 'txFrames'),
          bytes: delta(i, 'txBytes'),
          dropped: 0,
          failed: 0,
          truncated: 0,
          unsupported: 0,
          lastError: this.lastError,
        };
      }),
      sourceError: this.lastError,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
