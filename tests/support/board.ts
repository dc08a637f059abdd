/**
 * The board emulator (tools/board-emulator, built) as a child process on one
 * end of a socat pty pair: commands on its stdin, one JSON answer a line on
 * its stdout, stopped (and the pty pair removed) by `close()`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createPtyPair } from '@netmirror/serial-link/testing';
import type { PtyPair } from '@netmirror/serial-link/testing';
import { ROOT } from './run.js';

export const BOARD_EMULATOR = join(ROOT, 'tools/board-emulator/bin/board-emulator.js');

export interface BoardProcess {
  /** The host's end of the line (give it to the agent). */
  hostPort: string;
  child: ChildProcess;
  /** Sends a command line; resolves with its JSON answer (rejects on an {"error"} answer). */
  command(line: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderr(): string;
  close(): Promise<void>;
}

export interface BoardOptions {
  board: string;
  baud: number;
  /** e.g. ['mon0=pcap:/tmp/x.pcap'] */
  out?: string[];
  faults?: string;
}

export async function startBoard(options: BoardOptions): Promise<BoardProcess> {
  const pty: PtyPair = await createPtyPair();
  const args = [
    BOARD_EMULATOR,
    '--board',
    options.board,
    '--port',
    pty.a,
    '--baud',
    String(options.baud),
  ];
  for (const o of options.out ?? []) args.push('--out', o);
  if (options.faults) args.push('--faults', options.faults);
  const child = spawn('node', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    wake?.();
  });
  const next = (timeoutMs: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`board emulator: no answer in ${timeoutMs} ms; stderr:\n${err}`)),
        timeoutMs,
      );
      const take = (): void => {
        const l = lines.shift();
        if (l === undefined) {
          wake = take;
          return;
        }
        wake = null;
        clearTimeout(timer);
        const v = JSON.parse(l) as Record<string, unknown>;
        if (typeof v.error === 'string') reject(new Error(`board emulator: ${v.error}`));
        else resolve(v);
      };
      take();
    });
  const ready = await next(15_000);
  if (ready.ready !== true)
    throw new Error(`board emulator did not start: ${JSON.stringify(ready)}`);
  return {
    hostPort: pty.b,
    child,
    command: (line, timeoutMs = 20_000) => {
      child.stdin!.write(line + '\n');
      return next(timeoutMs);
    },
    stderr: () => err,
    close: async () => {
      if (child.exitCode === null) {
        child.stdin!.end('quit\n');
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 3000);
          child.on('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      await pty.close();
    },
  };
}

/** A policy for a board: skip one subnet, web and DNS to mon0 (the hardware tests' v1). */
export const WEB_AND_DNS_TO_MON0 = {
  destinations: { mon: 'board:mon0' },
  rules: [
    { name: 'not-backups', priority: 5, action: 'skip', match: { src: '10.1.2.0/24' } },
    {
      name: 'web',
      priority: 10,
      match: { protocol: 'tcp', port: [443, 80] },
      destinations: ['mon'],
    },
    { name: 'dns', priority: 20, match: { protocol: 'udp', dstPort: 53 }, destinations: ['mon'] },
  ],
};
