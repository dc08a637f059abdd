/**
 * Board profiles (fpga-configs/boards/*.json): what a tap board has, as
 * data. Loaded and checked here; everything that drives or models a board
 * reads its profile rather than knowing board types.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REGMAP_NAME, REGMAP_VERSION } from './generated/regmap.js';
import type { SigningKey } from './firmware-image.js';

/** Filter-key fields a board's parser can extract, with the widths each may have. */
export const KEY_FIELD_WIDTHS = {
  in_port: [1, 2, 3, 4, 5, 6, 7, 8],
  vlan_outer_valid: [1],
  vlan_outer: [12],
  vlan_inner_valid: [1],
  vlan_inner: [12],
  ether_type: [16],
  /** 0 neither, 1 IPv4, 2 IPv6. */
  l3: [2],
  ip_proto: [8],
  /** The frame has L4 ports (TCP, UDP, SCTP; first fragment). */
  l4_valid: [1],
  /** 32: IPv4 only; 128: IPv6, and IPv4 as ::ffff:a.b.c.d. */
  src_ip: [32, 128],
  dst_ip: [32, 128],
  l4_src: [16],
  l4_dst: [16],
} as const;

export type KeyFieldName = keyof typeof KEY_FIELD_WIDTHS;

export interface KeyFieldSpec {
  field: KeyFieldName;
  bits: number;
}

export interface BoardPort {
  name: string;
  role: 'ingress' | 'monitor';
  speedMbps: number;
}

export interface BoardProfile {
  id: string;
  name: string;
  /** BOARD_ID register value. */
  boardId: number;
  description: string;
  /** Ingress ports first, then monitor ports (the board numbers them in this order). */
  ports: BoardPort[];
  tcam: {
    entries: number;
    order: 'lowest-index-first';
    /** VLAN tags the parser sees (outer, inner); deeper tags are payload to it. */
    vlanTagsParsed: number;
    key: KeyFieldSpec[];
  };
  slicing: { supported: boolean; minBytes: number; maxBytes: number };
  timestamps: { modes: ('NONE' | 'TRAILER')[]; resolutionNs: number };
  registerMap: { name: string; version: string };
  firmware: {
    slots: number;
    slotBytes: number;
    bootTimeoutMs: number;
    imageFormat: number;
    signingKeys: (SigningKey & { use: 'development' | 'production' })[];
  };
  serial: { defaultBaud: number; maxBaud: number };
}

/** Sizes that follow from a profile's key layout. */
export interface TcamGeometry {
  keyBits: number;
  /** Key bits rounded up to 32-bit words (the mask has the same size). */
  keyBytes: number;
  /** Key, mask, action word. */
  entryBytes: number;
  /** One bank. */
  bankBytes: number;
}

export function tcamGeometry(profile: BoardProfile): TcamGeometry {
  const keyBits = profile.tcam.key.reduce((n, f) => n + f.bits, 0);
  const keyBytes = Math.ceil(keyBits / 32) * 4;
  const entryBytes = 2 * keyBytes + 4;
  return { keyBits, keyBytes, entryBytes, bankBytes: entryBytes * profile.tcam.entries };
}

/**
 * The line speed to drive the board at: `text` (a baud rate), or the
 * profile's default when absent (null or undefined). Throws "300..MAX for the ID" for one the
 * board does not take; callers put their option's name in front.
 */
export function boardBaudRate(profile: BoardProfile, text: string | null | undefined): number {
  const baud = text === null || text === undefined ? profile.serial.defaultBaud : Number(text);
  if (!Number.isInteger(baud) || baud < 300 || baud > profile.serial.maxBaud)
    throw new RangeError(`300..${profile.serial.maxBaud} for the ${profile.id}`);
  return baud;
}

export function ingressPorts(profile: BoardProfile): BoardPort[] {
  return profile.ports.filter((p) => p.role === 'ingress');
}

export function monitorPorts(profile: BoardProfile): BoardPort[] {
  return profile.ports.filter((p) => p.role === 'monitor');
}

/** Problems in a parsed profile, each "where: what" (empty when sound). */
export function validateBoardProfile(p: BoardProfile): string[] {
  const errors: string[] = [];
  const need = (ok: boolean, msg: string): void => {
    if (!ok) errors.push(msg);
  };
  need(
    typeof p.id === 'string' && /^[a-z0-9-]+$/.test(p.id),
    `id: "${p.id}" is not lower-case-with-dashes`,
  );
  need(
    Number.isInteger(p.boardId) && p.boardId > 0 && p.boardId <= 0xffffffff,
    `boardId: ${p.boardId}`,
  );
  const ports = Array.isArray(p.ports) ? p.ports : [];
  const ingress = ports.filter((x) => x.role === 'ingress').length;
  const monitor = ports.filter((x) => x.role === 'monitor').length;
  need(
    ingress >= 1 && monitor >= 1 && monitor <= 8,
    'ports: need ingress ports and 1..8 monitor ports',
  );
  need(
    ports.every((x, i) => (i < ingress ? x.role === 'ingress' : x.role === 'monitor')),
    'ports: ingress ports must come before monitor ports',
  );
  need(new Set(ports.map((x) => x.name)).size === ports.length, 'ports: names must be unique');
  const t = p.tcam;
  need(
    Number.isInteger(t?.entries) && t.entries > 0 && t.entries <= 65536,
    `tcam.entries: ${t?.entries}`,
  );
  need(t?.order === 'lowest-index-first', `tcam.order: "${t?.order}" (only lowest-index-first)`);
  need(t?.vlanTagsParsed === 2, 'tcam.vlanTagsParsed: 2 (outer and inner)');
  const seen = new Set<string>();
  for (const f of t?.key ?? []) {
    const widths = KEY_FIELD_WIDTHS[f.field] as readonly number[] | undefined;
    if (!widths) errors.push(`tcam.key: unknown field "${f.field}"`);
    else if (!widths.includes(f.bits))
      errors.push(`tcam.key.${f.field}: ${f.bits} bits (takes ${widths.join(' or ')})`);
    if (seen.has(f.field)) errors.push(`tcam.key.${f.field}: appears twice`);
    seen.add(f.field);
  }
  const inPort = t?.key?.find((f) => f.field === 'in_port');
  if (inPort)
    need(ingress <= 2 ** inPort.bits, `tcam.key.in_port: ${inPort.bits} bits for ${ingress} ports`);
  const s = p.slicing;
  need(
    !s?.supported || (s.minBytes >= 1 && s.minBytes <= s.maxBytes && s.maxBytes <= 0xffff),
    'slicing: minBytes..maxBytes must be within 1..65535',
  );
  need(
    p.registerMap?.name === REGMAP_NAME &&
      Number(p.registerMap.version.split('.')[0]) === REGMAP_VERSION.major,
    `registerMap: ${p.registerMap?.name} ${p.registerMap?.version}; these bindings are ${REGMAP_NAME} ${REGMAP_VERSION.major}.x`,
  );
  const fw = p.firmware;
  need(fw?.slots === 2, 'firmware.slots: 2 (A/B)');
  need(fw?.imageFormat === 1, 'firmware.imageFormat: 1');
  need(Number.isInteger(fw?.slotBytes) && fw.slotBytes > 128, 'firmware.slotBytes');
  need(Number.isInteger(fw?.bootTimeoutMs) && fw.bootTimeoutMs > 0, 'firmware.bootTimeoutMs');
  for (const k of fw?.signingKeys ?? [])
    need(
      Buffer.from(k.ed25519PublicKey ?? '', 'base64').length === 32,
      `firmware.signingKeys.${k.id}: not a 32-byte key`,
    );
  need((fw?.signingKeys ?? []).length > 0, 'firmware.signingKeys: none');
  need(p.serial?.defaultBaud > 0 && p.serial.maxBaud >= p.serial.defaultBaud, 'serial: baud rates');
  return errors;
}

const INSTALLED = '/usr/share/netmirror/boards';

/**
 * Where board profiles are: $NETMIRROR_BOARDS, else fpga-configs/boards of
 * the repository this code runs from (found upwards from here, so sources,
 * builds and the agent's bundle all find it), else the installed copy.
 */
export function boardProfilesDir(): string {
  const fromEnv = process.env.NETMIRROR_BOARDS;
  if (fromEnv) return resolve(fromEnv);
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'fpga-configs', 'boards');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  return INSTALLED;
}

/** Ids of the profiles available. */
export function listBoardProfiles(dir = boardProfilesDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Loads and checks the profile `id`; throws naming the file and every problem. */
export function loadBoardProfile(id: string, dir = boardProfilesDir()): BoardProfile {
  if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`board profile "${id}": not a profile id`);
  const path = join(dir, `${id}.json`);
  if (!existsSync(path))
    throw new Error(
      `no board profile "${id}" in ${dir} (there are: ${listBoardProfiles(dir).join(', ') || 'none'})`,
    );
  let profile: BoardProfile;
  try {
    profile = JSON.parse(readFileSync(path, 'utf8')) as BoardProfile;
  } catch (e) {
    throw new Error(`board profile ${path}: ${(e as Error).message}`, { cause: e });
  }
  const errors = validateBoardProfile(profile);
  if (profile.id !== id) errors.push(`id: "${profile.id}" does not match the file name`);
  if (errors.length > 0) throw new Error(`board profile ${path}:\n  ${errors.join('\n  ')}`);
  return profile;
}
