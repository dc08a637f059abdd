import { parseArgs } from 'node:util';
import { openSerialTransport } from '@netmirror/serial-link';
import type { ByteTransport } from '@netmirror/serial-link';
import { encodeLine, LineSplitter, parseLine } from '../console/index.js';
import type { JsonObject } from '../console/index.js';

const HELP = `Usage: netmirror provision --port SERIALPORT [--baud N] [ACTION]

The field technician's tool: talks to the appliance's console over its serial
port. Without an action it shows the appliance's identity and state.

  enroll:   --token TOKEN --fleet-url URL --ca-fingerprint AB:CD:...
            [--name NAME] [--site SITE] [--address dhcp|ADDR/PREFIX] [--gateway IP] [--dns IP,IP]
            sets the appliance up and enrolls it with a one-time token; the appliance makes
            its key pair, checks the fleet manager's CA against the fingerprint, and gets its
            certificate signed. Nothing changes on the appliance unless all of it succeeds.
  --set     with --site/--address/--gateway/--dns (and --name before enrollment):
            change settings without enrolling
  --factory-reset NAME   forget identity, settings and applied state (NAME: the appliance's
            name as show reports it, or "unprovisioned"); the agent restarts empty
  --json    print the appliance's answer as JSON

Exit codes: 0 done, 1 the appliance refused (the reason is printed), 2 usage, 3 no answer.
`;

const ATTEMPTS = 3;

/** `netmirror provision`: returns the exit code. */
export async function runProvision(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        baud: { type: 'string', default: '115200' },
        token: { type: 'string' },
        'fleet-url': { type: 'string' },
        'ca-fingerprint': { type: 'string' },
        name: { type: 'string' },
        site: { type: 'string' },
        address: { type: 'string' },
        gateway: { type: 'string' },
        dns: { type: 'string' },
        set: { type: 'boolean' },
        'factory-reset': { type: 'string' },
        json: { type: 'boolean' },
        timeout: { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.port) return usage('--port is required');
  const baud = Number(values.baud);
  if (!Number.isInteger(baud) || baud < 300) return usage(`--baud ${values.baud}: a baud rate`);
  let request: JsonObject;
  try {
    request = buildRequest(values);
  } catch (err) {
    return usage((err as Error).message);
  }
  let transport: ByteTransport;
  try {
    transport = await openSerialTransport(values.port, baud);
  } catch (err) {
    process.stderr.write(`netmirror provision: ${(err as Error).message}\n`);
    return 3;
  }
  try {
    const answer = await ask(transport, request, Number(values.timeout) * 1000);
    if (answer === null) {
      process.stderr.write(`netmirror provision: no answer from the appliance on ${values.port}\n`);
      return 3;
    }
    if (answer.ok !== true) {
      process.stderr.write(`netmirror provision: the appliance refused: ${String(answer.error)}\n`);
      return 1;
    }
    const { id: _id, ok: _ok, ...rest } = answer;
    process.stdout.write(
      values.json ? JSON.stringify(rest, null, 2) + '\n' : describe(request, rest),
    );
    return 0;
  } finally {
    await transport.close().catch(() => undefined);
  }
}

function buildRequest(v: Record<string, string | boolean | undefined>): JsonObject {
  const id = Date.now() % 1_000_000_000;
  const settings: JsonObject = {};
  if (v.name !== undefined) settings.name = v.name;
  if (v.site !== undefined) settings.site = v.site;
  if (v['fleet-url'] !== undefined) settings.fleetUrl = v['fleet-url'];
  if (v['ca-fingerprint'] !== undefined) settings.caFingerprint = v['ca-fingerprint'];
  if (v.address !== undefined || v.gateway !== undefined || v.dns !== undefined) {
    if (v.address === undefined)
      throw new Error('--gateway and --dns need --address (dhcp or ADDR/PREFIX)');
    settings.network = {
      address: v.address,
      ...(v.gateway !== undefined ? { gateway: v.gateway } : {}),
      ...(v.dns !== undefined ? { dns: String(v.dns).split(',') } : {}),
    };
  }
  const actions = [v.token !== undefined, v.set === true, v['factory-reset'] !== undefined].filter(
    Boolean,
  );
  if (actions.length > 1) throw new Error('give one of --token, --set, --factory-reset');
  if (v['factory-reset'] !== undefined)
    return { id, cmd: 'factory-reset', confirm: v['factory-reset'] };
  if (v.token !== undefined) {
    if (!settings.fleetUrl || !settings.caFingerprint)
      throw new Error('enrolling needs --fleet-url and --ca-fingerprint (the fleet CA to pin)');
    return { id, cmd: 'provision', token: v.token, settings };
  }
  if (v.set) return { id, cmd: 'configure', settings };
  if (Object.keys(settings).length > 0) throw new Error('settings need --token (enroll) or --set');
  return { id, cmd: 'show' };
}

/**
 * Sends the request and waits for the answer with its id, sending the
 * same line again after a garbled answer or a silence (the appliance
 * answers a repeated request from memory, never running it twice).
 */
function ask(
  transport: ByteTransport,
  request: JsonObject,
  timeoutMs: number,
): Promise<JsonObject | null> {
  const line = encodeLine(request);
  return new Promise((resolve) => {
    let attempts = 0;
    let timer: NodeJS.Timeout | null = null;
    const send = (): void => {
      if (attempts++ >= ATTEMPTS) return finish(null);
      // CR LF first: whatever half line the console holds (typing, noise) ends there.
      transport.write(Buffer.from(`\r\n${line}`, 'utf8'));
      if (timer) clearTimeout(timer);
      timer = setTimeout(send, timeoutMs / ATTEMPTS);
    };
    const finish = (answer: JsonObject | null): void => {
      if (timer) clearTimeout(timer);
      timer = null;
      resolve(answer);
    };
    const splitter = new LineSplitter((text) => {
      if (!text.trimStart().startsWith('@')) return; // the console's banner and human lines
      const parsed = parseLine(text);
      if ('error' in parsed) return void setImmediate(send); // a garbled answer: ask again
      const a = parsed.value;
      if (a.id === request.id) return finish(a);
      if (a.id === null) setImmediate(send); // it could not read our request
    });
    transport.onData((chunk) => splitter.push(chunk));
    send();
  });
}

function describe(request: JsonObject, answer: JsonObject): string {
  if (request.cmd === 'provision')
    return `enrolled as ${String(answer.deviceId)}; the appliance connects to ${String(answer.brokerUrl)}\n`;
  if (request.cmd === 'factory-reset')
    return 'factory reset done; the agent restarts unprovisioned\n';
  const fields = request.cmd === 'configure' ? (answer.settings as JsonObject) : answer;
  return (
    Object.entries(fields)
      .map(([k, v]) => `${k.padEnd(14)} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('\n') + '\n'
  );
}

function usage(message: string): number {
  process.stderr.write(`netmirror provision: ${message}\n\n${HELP}`);
  return 2;
}
