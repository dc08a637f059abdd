// A host and a board talking over a real pty pair (socat), for the link
// tests: host SerialLink on one end, SerialLinkServer on the other behind
// FaultyTransport and PacedTransport (the pty has no baud rate of its own).
import type { BoardEvent } from '../events.js';
import { FaultyTransport } from '../faulty-transport.js';
import { FrameDecoder, Kind, Op, Status } from '../frame.js';
import { SerialLink, type SerialLinkOptions } from '../link.js';
import {
  decodeReadCounters,
  decodeReadRegs,
  decodeTableRead,
  decodeTableWrite,
  decodeWriteRegs,
  encodeTableWritten,
  encodeU32s,
  encodeU64s,
} from '../ops.js';
import { PacedTransport } from '../paced-transport.js';
import { openSerialTransport } from '../serial-transport.js';
import { SerialLinkServer, type Response, type SerialLinkServerOptions } from '../server.js';
import { createPtyPair } from '../testing/index.js';
import type { ByteTransport } from '../transport.js';

const TABLE_SIZE = 65536;
/** Registers at and above this address do not exist. */
export const BAD_REGION = 0xf000;

/** A minimal board: registers, one table (number 1), counters; counts every execution. */
export class FakeBoard {
  readonly regs = new Map<number, number>();
  readonly table = Buffer.alloc(TABLE_SIZE);
  /** Executions per request, by "op:address" or "op:offset". */
  readonly executions = new Map<string, number>();
  /** Delay before answering TABLE_WRITE (ms), to keep requests outstanding. */
  tableWriteDelayMs = 0;

  handle = async (op: number, body: Buffer): Promise<Response> => {
    switch (op) {
      case Op.READ_REGS: {
        const r = decodeReadRegs(body);
        if (typeof r === 'string') return bad(Status.BAD_REQUEST, r);
        if (r.address + 4 * r.count > BAD_REGION)
          return bad(Status.BAD_ADDRESS, 'no such register');
        const values = Array.from(
          { length: r.count },
          (_, i) => this.regs.get(r.address + 4 * i) ?? 0,
        );
        return { status: Status.OK, body: encodeU32s(values) };
      }
      case Op.WRITE_REGS: {
        const r = decodeWriteRegs(body);
        if (typeof r === 'string') return bad(Status.BAD_REQUEST, r);
        this.count(`write:${r.address}`);
        r.values.forEach((v, i) => this.regs.set(r.address + 4 * i, v));
        return { status: Status.OK };
      }
      case Op.TABLE_WRITE: {
        const r = decodeTableWrite(body);
        if (typeof r === 'string') return bad(Status.BAD_REQUEST, r);
        if (r.table !== 1 || r.offset + r.data.length > TABLE_SIZE)
          return bad(Status.BAD_TABLE, '');
        this.count(`table:${r.offset}`);
        if (this.tableWriteDelayMs > 0)
          await new Promise((res) => setTimeout(res, this.tableWriteDelayMs));
        r.data.copy(this.table, r.offset);
        return { status: Status.OK, body: encodeTableWritten(r.offset, r.data.length) };
      }
      case Op.TABLE_READ: {
        const r = decodeTableRead(body);
        if (typeof r === 'string') return bad(Status.BAD_REQUEST, r);
        if (r.table !== 1 || r.offset + r.length > TABLE_SIZE) return bad(Status.BAD_TABLE, '');
        return {
          status: Status.OK,
          body: Buffer.from(this.table.subarray(r.offset, r.offset + r.length)),
        };
      }
      case Op.READ_COUNTERS: {
        const r = decodeReadCounters(body);
        if (typeof r === 'string') return bad(Status.BAD_REQUEST, r);
        const values = Array.from({ length: r.count }, (_, i) =>
          counterValue(r.block, r.first + i),
        );
        return { status: Status.OK, body: encodeU64s(values) };
      }
      case Op.PING:
        return { status: Status.OK, body };
      default:
        return bad(Status.UNKNOWN_OP, `op ${op}`);
    }
  };

  private count(key: string): void {
    this.executions.set(key, (this.executions.get(key) ?? 0) + 1);
  }
}

/** Beyond 2^53 on purpose: counters must come back as exact bigints. */
export const counterValue = (block: number, index: number): bigint =>
  (BigInt(block) << 56n) | (BigInt(index) << 20n) | 0xabcden;

function bad(status: number, reason: string): Response {
  return { status, body: Buffer.from(reason) };
}

/**
 * Tracks requests outstanding as seen on the host's side of the wire. It
 * hands received bytes to the host a frame at a time, each after noting it,
 * so its count is exact even when one chunk holds several responses.
 */
export class WindowSpy implements ByteTransport {
  maxOutstanding = 0;
  private readonly outstanding = new Set<number>();
  private readonly out = new FrameDecoder((f) => {
    if (f.kind !== Kind.REQUEST) return;
    this.outstanding.add(f.seq);
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding.size);
  });
  private readonly in = new FrameDecoder((f) => {
    if (f.kind === Kind.RESPONSE) this.outstanding.delete(f.seq);
  });

  constructor(private readonly inner: ByteTransport) {}

  write(data: Buffer): void {
    this.out.push(data);
    this.inner.write(data);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.inner.onData((chunk) => {
      for (let at = 0; at < chunk.length;) {
        const zero = chunk.indexOf(0, at);
        const end = zero < 0 ? chunk.length : zero + 1;
        const piece = chunk.subarray(at, end);
        this.in.push(piece);
        cb(piece);
        at = end;
      }
    });
  }

  onClose(cb: (err?: Error) => void): void {
    this.inner.onClose(cb);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface RigOptions {
  baudRate?: number;
  link?: Partial<SerialLinkOptions>;
  server?: Partial<SerialLinkServerOptions>;
}

export interface Rig {
  link: SerialLink;
  server: SerialLinkServer;
  board: FakeBoard;
  /** Faults on the board's side, both directions; off until configured. */
  faults: FaultyTransport;
  spy: WindowSpy;
  /** The raw ends, to inject bytes around the link. */
  hostPort: ByteTransport;
  boardPort: ByteTransport;
  events: BoardEvent[];
  ptyClose(): Promise<void>;
}

/** Resolves with `p`, or rejects after `ms`: every wait in these tests is bounded. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs `body` with a connected host and board (the board's power-on RESET
 * already seen), and tears everything down afterwards, whatever happens.
 */
export async function withRig(
  options: RigOptions,
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const baudRate = options.baudRate ?? 921600;
  const pty = await createPtyPair();
  const closers: (() => Promise<void>)[] = [() => pty.close()];
  try {
    const hostPort = await openSerialTransport(pty.a, baudRate);
    closers.unshift(() => hostPort.close());
    const boardPort = await openSerialTransport(pty.b, baudRate);
    closers.unshift(() => boardPort.close());
    const faults = new FaultyTransport(new PacedTransport(boardPort, baudRate), { seed: 1 });
    const spy = new WindowSpy(hostPort);
    const link = new SerialLink(spy, { baudRate, ...options.link });
    closers.unshift(() => link.close());
    const events: BoardEvent[] = [];
    const powerOn = new Promise<void>((resolve) =>
      link.onEvent((e) => {
        events.push(e);
        if (e.type === 'reset') resolve();
      }),
    );
    const board = new FakeBoard();
    const server = new SerialLinkServer(faults, board.handle, {
      boardId: 0xb0a4d,
      regmapVersion: 3,
      ...options.server,
    });
    closers.unshift(() => server.close());
    await within(powerOn, 2000, 'power-on RESET event');
    await body({
      link,
      server,
      board,
      faults,
      spy,
      hostPort,
      boardPort,
      events,
      ptyClose: () => pty.close(),
    });
  } finally {
    for (const close of closers) await close().catch(() => undefined);
  }
}
