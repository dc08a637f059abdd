/**
 * The provisioning console on the appliance's serial port. People type
 * `help` and `show`; the technician's tool (`netmirror provision`) sends
 * machine lines (console-lines.ts) and gets one answer per request. A
 * request is carried out at most once: an answer lost on the line is sent
 * again for a repeated request (same id and text) instead of running it
 * twice — a retried enrollment must not burn a second token.
 */
import type { ByteTransport } from '@netmirror/serial-link';
import type { JsonObject } from './console-lines.js';
import { encodeLine, LineSplitter, parseLine } from './console-lines.js';
import type { ProvisioningSettings } from './provisioning-settings.js';
import { checkSettings } from './provisioning-settings.js';

/** What the console can do to the appliance (the agent provides it). */
export interface ConsoleAppliance {
  /** Identity and state, for `show`. */
  describe(): JsonObject;
  /** Enrolls with `settings` and a one-time token; stores nothing unless it succeeded. */
  provision(settings: ProvisioningSettings, token: string): Promise<JsonObject>;
  /** Changes settings of an enrolled appliance that need no enrollment (name is fixed by then). */
  configure(settings: ProvisioningSettings): Promise<JsonObject>;
  /** Forgets identity, settings and applied state; `confirm` must name the appliance. */
  factoryReset(confirm: string): Promise<JsonObject>;
}

const REMEMBERED = 32;

export class ConsoleService {
  private readonly splitter = new LineSplitter((line) => this.onLine(line));
  private queue: Promise<void> = Promise.resolve();
  private readonly answered = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly transport: ByteTransport,
    private readonly appliance: ConsoleAppliance,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    transport.onData((chunk) => this.splitter.push(chunk));
    transport.onClose(() => (this.closed = true));
    this.write('\r\nNetMirror appliance console. Type help.\r\n');
  }

  close(): Promise<void> {
    this.closed = true;
    return this.transport.close();
  }

  private onLine(raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    if (!line.startsWith('@')) return this.human(line);
    // One request at a time, in order: enrollment and reset must not interleave.
    this.queue = this.queue
      .then(() => this.machine(line))
      .catch((e: unknown) => this.log(`console: ${(e as Error).message}`));
  }

  private async machine(line: string): Promise<void> {
    const again = this.answered.get(line);
    if (again !== undefined) return this.write(again);
    const parsed = parseLine(line);
    if ('error' in parsed)
      return this.write(
        encodeLine({ id: null, ok: false, error: `${parsed.error}; nothing changed` }),
      );
    const { value } = parsed;
    const id = value.id;
    let answer: JsonObject;
    try {
      answer = { id, ok: true, ...(await this.run(value)) };
    } catch (e) {
      answer = { id, ok: false, error: (e as Error).message };
    }
    const text = encodeLine(answer);
    this.answered.set(line, text);
    if (this.answered.size > REMEMBERED)
      this.answered.delete(this.answered.keys().next().value as string);
    this.write(text);
  }

  private async run(req: JsonObject): Promise<JsonObject> {
    switch (req.cmd) {
      case 'show':
        return this.appliance.describe();
      case 'provision': {
        if (typeof req.token !== 'string' || req.token === '')
          throw new Error('provision: token is required');
        const settings = checkSettings(req.settings ?? {});
        if (!settings.fleetUrl) throw new Error('provision: settings.fleetUrl is required');
        if (!settings.caFingerprint)
          throw new Error('provision: settings.caFingerprint is required (pin the fleet CA)');
        this.log(`console: provisioning with ${settings.fleetUrl}`);
        return this.appliance.provision(settings, req.token);
      }
      case 'configure':
        return this.appliance.configure(checkSettings(req.settings ?? {}));
      case 'factory-reset':
        if (typeof req.confirm !== 'string')
          throw new Error("factory-reset: confirm with the appliance's name");
        return this.appliance.factoryReset(req.confirm);
      default:
        throw new Error(
          `unknown command ${JSON.stringify(req.cmd)} (show, provision, configure, factory-reset)`,
        );
    }
  }

  private human(line: string): void {
    const word = line.toLowerCase();
    if (word === 'help')
      return this.write(
        "show: identity and state. Provision with the technician's tool: netmirror provision --port PORT ...\r\n",
      );
    if (word === 'show') {
      const d = this.appliance.describe();
      return this.write(
        Object.entries(d)
          .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join('\r\n') + '\r\n',
      );
    }
    this.write(`unknown command "${line.slice(0, 40)}"; type help\r\n`);
  }

  private write(text: string): void {
    if (!this.closed) this.transport.write(Buffer.from(text, 'utf8'));
  }
}
