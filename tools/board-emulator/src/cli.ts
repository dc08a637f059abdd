/**
 * board-emulator command line:
 *   board-emulator --board ID --port PATH [--baud N] [--out mon0=pcap:FILE|iface:NAME]...
 *                  [--feed-iface p0=IFNAME]... [--faults drop=P,corrupt=P,delay=MS,reset-after=N,seed=S]
 *
 * Then one command a line on stdin, one JSON answer a line on stdout:
 *   feed PATH [PORT]   replay a capture into an ingress port (default the first)
 *   status             the model's state and the link's counters
 *   reset              restart the board (RESET event, reason commanded)
 *   quit
 */
import { boardBaudRate, loadBoardProfile } from '@netmirror/fpga';
import { openSerialTransport } from '@netmirror/serial-link';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { EmulatorFaults } from './emulator.js';
import { BoardEmulator } from './emulator.js';
import type { PortOutput } from './outputs.js';
import { openPortOutput } from './outputs.js';

export const USAGE =
  'usage: board-emulator --board ID --port PATH [--baud N] [--out mon0=pcap:FILE|iface:NAME]... [--feed-iface p0=IFNAME]... [--faults drop=P,corrupt=P,delay=MS,reset-after=N,seed=S]';

/** Parses `drop=0.01,corrupt=0.01,delay=20,reset-after=500,seed=3`. */
export function parseFaults(text: string): EmulatorFaults {
  const f: EmulatorFaults = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [key, raw] = part.split('=');
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < 0)
      throw new Error(`--faults ${part}: expected NAME=NUMBER`);
    if ((key === 'drop' || key === 'corrupt') && value > 1)
      throw new Error(`--faults ${part}: a probability is 0..1`);
    if (key === 'drop') f.dropProbability = value;
    else if (key === 'corrupt') f.corruptProbability = value;
    else if (key === 'delay') f.delayMs = value;
    else if (key === 'reset-after') f.resetAfterRequests = Math.floor(value);
    else if (key === 'seed') f.seed = Math.floor(value);
    else
      throw new Error(`--faults ${part}: unknown fault (drop, corrupt, delay, reset-after, seed)`);
  }
  return f;
}

function portPairs(list: string[] | undefined, flag: string): [string, string][] {
  return (list ?? []).map((s) => {
    const i = s.indexOf('=');
    if (i <= 0) throw new Error(`--${flag} ${s}: expected PORT=VALUE`);
    return [s.slice(0, i), s.slice(i + 1)];
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let emulator: BoardEmulator;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        board: { type: 'string' },
        port: { type: 'string' },
        baud: { type: 'string' },
        out: { type: 'string', multiple: true },
        'feed-iface': { type: 'string', multiple: true },
        faults: { type: 'string', default: '' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (!values.board || !values.port) throw new Error(USAGE);
    const profile = loadBoardProfile(values.board);
    let baudRate: number;
    try {
      baudRate = boardBaudRate(profile, values.baud || undefined); // '' is the default, as ever
    } catch (e) {
      throw new Error(`--baud ${values.baud}: ${(e as Error).message}`, { cause: e });
    }
    const transport = await openSerialTransport(values.port, baudRate);
    const outputs = new Map<number, PortOutput>();
    const monitors = profile.ports.filter((p) => p.role === 'monitor').map((p) => p.name);
    for (const [name, spec] of portPairs(values.out, 'out')) {
      const m = monitors.indexOf(name);
      if (m < 0)
        throw new Error(
          `--out ${name}: the ${profile.id}'s monitor ports are ${monitors.join(', ')}`,
        );
      outputs.set(m, openPortOutput(spec));
    }
    emulator = new BoardEmulator({
      profile,
      transport,
      baudRate,
      outputs,
      faults: parseFaults(values.faults),
    });
    const ingress = profile.ports.filter((p) => p.role === 'ingress').map((p) => p.name);
    for (const [name, ifname] of portPairs(values['feed-iface'], 'feed-iface')) {
      const i = ingress.indexOf(name);
      if (i < 0)
        throw new Error(`--feed-iface ${name}: the ingress ports are ${ingress.join(', ')}`);
      emulator.feedInterface(ifname, i);
    }
    say({ ready: true, board: profile.id, port: values.port, baud: baudRate });
  } catch (e) {
    process.stderr.write(`board-emulator: ${(e as Error).message}\n`);
    return 2;
  }
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, ...args] = line.trim().split(/\s+/);
    try {
      if (cmd === '' || cmd === undefined) continue;
      if (cmd === 'quit') break;
      if (cmd === 'feed') {
        if (!args[0]) throw new Error('feed PATH [PORT]');
        const names = emulator.model.profile.ports
          .filter((p) => p.role === 'ingress')
          .map((p) => p.name);
        const port = args[1] === undefined ? 0 : names.indexOf(args[1]);
        if (port < 0)
          throw new Error(`feed: ${args[1]} is not an ingress port (${names.join(', ')})`);
        say({ fed: emulator.feedFile(args[0], port) });
      } else if (cmd === 'status') {
        say({
          status: emulator.model.describe(),
          link: emulator.server.stats,
          bootId: emulator.server.bootId,
        });
      } else if (cmd === 'reset') {
        emulator.model.restart(2);
        say({ reset: true, bootId: emulator.server.bootId });
      } else {
        throw new Error(`unknown command "${cmd}" (feed, status, reset, quit)`);
      }
    } catch (e) {
      say({ error: (e as Error).message });
    }
  }
  await emulator.close();
  return 0;
}

function say(value: object): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
