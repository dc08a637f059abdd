/**
 * The agent as the console sees it: what `show` reports, and provisioning
 * (enrollment with the technician's settings and token), reconfiguration
 * and factory reset carried out on the running agent.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../daemon/index.js';
import { tapUris } from '../daemon/index.js';
import { enrollDevice, IdentityStore, newEnrollmentCandidate } from '../enroll/index.js';
import type { DeviceIdentity } from '../enroll/index.js';
import { AGENT_VERSION } from '../version.js';
import type { JsonObject } from './console-lines.js';
import type { ConsoleAppliance } from './console-service.js';
import type { ProvisioningSettings } from './provisioning-settings.js';
import { SettingsStore } from './provisioning-settings.js';

export interface AgentApplianceHooks {
  /** The identity the agent runs as, or null before enrollment. */
  identity(): DeviceIdentity | null;
  /** Called once enrollment succeeded (adopt the identity, connect to the fleet). */
  enrolled(identity: DeviceIdentity): void;
  /** Whether the control channel is connected. */
  connected(): boolean;
  /** Called after a factory reset has wiped the state: the agent restarts empty. */
  wiped(): void;
}

export class AgentAppliance implements ConsoleAppliance {
  private readonly settings: SettingsStore;

  constructor(
    private readonly config: AgentConfig,
    private readonly hooks: AgentApplianceHooks,
  ) {
    this.settings = new SettingsStore(config.stateDir);
  }

  describe(): JsonObject {
    const id = this.hooks.identity();
    const s = this.settings.load();
    return {
      state: id ? (this.hooks.connected() ? 'online' : 'enrolled') : 'unprovisioned',
      deviceId: id?.deviceId ?? null,
      serialNumber: machineId(),
      agentVersion: AGENT_VERSION,
      sources: tapUris(this.config),
      name: s.name ?? null,
      site: s.site ?? null,
      network: s.network ?? null,
      fleetUrl: id?.fleetUrl ?? s.fleetUrl ?? null,
      caFingerprint: s.caFingerprint ?? null,
    };
  }

  async provision(settings: ProvisioningSettings, token: string): Promise<JsonObject> {
    const current = this.hooks.identity();
    if (current)
      throw new Error(
        `already enrolled as ${current.deviceId}; factory-reset first to enroll again`,
      );
    const identity = await enrollDevice(
      {
        fleetUrl: settings.fleetUrl ?? '',
        token,
        caFingerprint: settings.caFingerprint,
        agentVersion: AGENT_VERSION,
        site: settings.site,
      },
      new IdentityStore(this.config.stateDir),
      newEnrollmentCandidate(settings.name ?? this.config.deviceId),
    );
    // Enrollment stored the identity; the settings follow it (a crash in between
    // leaves an enrolled appliance that shows no name: harmless, and fixable by configure).
    this.settings.save(settings);
    this.hooks.enrolled(identity);
    return { deviceId: identity.deviceId, brokerUrl: identity.brokerUrl };
  }

  async configure(settings: ProvisioningSettings): Promise<JsonObject> {
    const id = this.hooks.identity();
    if (id && settings.name !== undefined && settings.name !== id.deviceId)
      throw new Error(
        `the name is the device id once enrolled (${id.deviceId}); rename it in the fleet manager`,
      );
    if (id && (settings.fleetUrl !== undefined || settings.caFingerprint !== undefined))
      throw new Error(
        'fleetUrl and caFingerprint are fixed by enrollment; factory-reset to change them',
      );
    const merged = { ...this.settings.load(), ...settings };
    this.settings.save(merged);
    return { settings: merged as JsonObject };
  }

  async factoryReset(confirm: string): Promise<JsonObject> {
    const name = this.hooks.identity()?.deviceId ?? 'unprovisioned';
    if (confirm !== name)
      throw new Error(
        `factory-reset: confirm with the appliance's name (${name}); nothing changed`,
      );
    const dir = this.config.stateDir;
    if (existsSync(dir))
      for (const entry of readdirSync(dir))
        rmSync(join(dir, entry), { recursive: true, force: true });
    // After the answer has left on the line: the agent exits then.
    setTimeout(() => this.hooks.wiped(), 300);
    return { reset: true, restarting: true };
  }
}

/** The host's machine id (systemd), as the appliance's serial number; null if there is none. */
function machineId(): string | null {
  try {
    return readFileSync('/etc/machine-id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}
