/**
 * What a technician sets on an appliance at the console, kept in the state
 * directory (`provisioning.json`): its name and site, the management
 * network settings (for the appliance image's network service to apply; the
 * agent itself does not configure interfaces), the fleet manager's URL and
 * the fingerprint its CA must have.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '../enroll/index.js';

export interface NetworkSettings {
  /** `dhcp`, or a static address with its prefix length (`192.0.2.10/24`). */
  address: string;
  gateway?: string;
  dns?: string[];
}

export interface ProvisioningSettings {
  name?: string;
  site?: string;
  network?: NetworkSettings;
  fleetUrl?: string;
  caFingerprint?: string;
}

const FILE = 'provisioning.json';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/;
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** Checks settings from the line; throws naming the field. Returns them normalised. */
export function checkSettings(input: unknown): ProvisioningSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error('settings: expected an object');
  const s = input as Record<string, unknown>;
  for (const key of Object.keys(s))
    if (!['name', 'site', 'network', 'fleetUrl', 'caFingerprint'].includes(key))
      throw new Error(
        `settings.${key}: unknown setting (name, site, network, fleetUrl, caFingerprint)`,
      );
  const out: ProvisioningSettings = {};
  if (s.name !== undefined) {
    if (typeof s.name !== 'string' || !NAME.test(s.name))
      throw new Error('settings.name: 3-64 of A-Z a-z 0-9 . _ - starting with a letter or digit');
    out.name = s.name;
  }
  if (s.site !== undefined) {
    if (typeof s.site !== 'string' || s.site.length === 0 || s.site.length > 200)
      throw new Error('settings.site: 1-200 characters');
    out.site = s.site;
  }
  if (s.network !== undefined) out.network = checkNetwork(s.network);
  if (s.fleetUrl !== undefined) {
    if (typeof s.fleetUrl !== 'string' || !/^https?:\/\/[^/\s]+/.test(s.fleetUrl))
      throw new Error('settings.fleetUrl: expected http(s)://HOST[:PORT]');
    out.fleetUrl = s.fleetUrl.replace(/\/+$/, '');
  }
  if (s.caFingerprint !== undefined) {
    const fp = typeof s.caFingerprint === 'string' ? s.caFingerprint.toUpperCase() : '';
    if (!FINGERPRINT.test(fp))
      throw new Error(
        'settings.caFingerprint: expected the SHA-256 fingerprint, AB:CD:… (32 bytes)',
      );
    out.caFingerprint = fp;
  }
  return out;
}

function checkNetwork(input: unknown): NetworkSettings {
  if (typeof input !== 'object' || input === null)
    throw new Error('settings.network: expected an object');
  const n = input as Record<string, unknown>;
  const address = n.address;
  if (address !== 'dhcp') {
    const [ip, len] = typeof address === 'string' ? address.split('/') : [];
    const bits = Number(len);
    const family = isIP(ip ?? '');
    if (!family || !/^\d+$/.test(len ?? '') || bits < 1 || bits > (family === 4 ? 32 : 128))
      throw new Error('settings.network.address: dhcp, or ADDRESS/PREFIX (192.0.2.10/24)');
  }
  const out: NetworkSettings = { address: String(address) };
  if (n.gateway !== undefined) {
    if (typeof n.gateway !== 'string' || !isIP(n.gateway))
      throw new Error('settings.network.gateway: an IP address');
    out.gateway = n.gateway;
  }
  if (n.dns !== undefined) {
    if (
      !Array.isArray(n.dns) ||
      !n.dns.every((d) => typeof d === 'string' && isIP(d)) ||
      n.dns.length > 4
    )
      throw new Error('settings.network.dns: up to 4 IP addresses');
    out.dns = n.dns as string[];
  }
  return out;
}

export class SettingsStore {
  constructor(private readonly stateDir: string) {}

  private get path(): string {
    return join(this.stateDir, FILE);
  }

  load(): ProvisioningSettings {
    if (!existsSync(this.path)) return {};
    try {
      return checkSettings(JSON.parse(readFileSync(this.path, 'utf8')));
    } catch (e) {
      throw new Error(`${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  save(settings: ProvisioningSettings): void {
    writeFileAtomic(this.path, JSON.stringify(settings, null, 2) + '\n');
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}
