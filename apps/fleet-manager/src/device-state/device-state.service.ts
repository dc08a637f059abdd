// Desired and reported state per device and domain, and presence. Desired
// rows are written here (by rollouts and keys) and published retained after
// the transaction commits; reports and status messages from devices are
// batched into the same tables. Drift = desired differs from reported.
//
// On PostgreSQL the bulk paths (a deploy to every device, a batch of
// reports, a connection storm) are plain SQL: device ids go as one array
// parameter (= ANY($1)) and rows as one JSON parameter (jsonb_to_recordset),
// so a statement costs the same whether it carries 10 rows or 10,000, where
// TypeORM builds and escapes one parameter per value (~9 per row). SQLite
// keeps the portable TypeORM path (chunks of 500 rows: its variable limit).
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import {
  buildDesired,
  type DesiredDomain,
  type DesiredState,
  type Inbound,
  type JsonObject,
  type ReportedState,
  type Status,
} from '@netmirror/protocol';
import {
  DataSource,
  In,
  type EntityManager,
  type EntityTarget,
  type FindManyOptions,
  type ObjectLiteral,
} from 'typeorm';
import { Batcher } from '../common/batcher.js';
import { ControlService } from '../control/control.service.js';
import { Device } from '../devices/device.entity.js';
import { DevicesService } from '../devices/devices.service.js';
import { governingPolicy, PoliciesService } from '../policies/policies.service.js';
import { PolicyVersion } from '../policies/policy-version.entity.js';
import { DeviceDesired, type StateDomain } from './device-desired.entity.js';
import { DeviceReported } from './device-reported.entity.js';

export const STATE_DOMAINS: readonly StateDomain[] = ['policy', 'retention', 'keys'];

/** A desired state to write for one device; its version is chosen here. */
export interface DesiredAssignment {
  deviceId: string;
  spec: JsonObject;
  hash: string;
  policy: string | null;
  policyVersion: number | null;
}

export interface DomainState {
  domain: StateDomain;
  desired: DeviceDesired | null;
  reported: DeviceReported | null;
  inSync: boolean;
}

interface StoredReport {
  deviceId: string;
  report: ReportedState;
}

/** What a device has seen in a domain: its highest version, and what it is desired at now. */
interface VersionFloor {
  version: number;
  hash: string | null;
  policy: string | null;
  policyVersion: number | null;
}

const CHUNK = 500;
/** Rows per statement on PostgreSQL (one JSON parameter each, no variable limit). */
const PG_CHUNK = 5000;
/** Desired messages in flight at once (QoS 1: each waits for its PUBACK). */
const PUBLISH_WINDOW = 2000;

export function inSync(desired: DeviceDesired | null, reported: DeviceReported | null): boolean {
  if (!desired) return true;
  return !!reported && reported.version === desired.version && reported.hash === desired.hash;
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function isPostgres(ds: DataSource): boolean {
  return ds.options.type === 'postgres';
}

/**
 * Rows of `entity` whose device id (property `idProperty`) is one of `ids`,
 * optionally only some columns: one statement on PostgreSQL (the ids as one
 * array parameter), chunks of 500 on SQLite.
 */
export async function findByDeviceIds<T extends ObjectLiteral>(
  manager: EntityManager,
  entity: EntityTarget<T>,
  idProperty: 'id' | 'deviceId',
  ids: readonly string[],
  where: Partial<Record<keyof T & string, unknown>> = {},
  select?: ReadonlyArray<keyof T & string>,
): Promise<T[]> {
  if (ids.length === 0) return [];
  if (isPostgres(manager.connection)) {
    const qb = manager
      .createQueryBuilder(entity, 'e')
      .where(`e.${idProperty} = ANY(:ids)`, { ids: [...ids] });
    if (select) qb.select(select.map((c) => `e.${c}`));
    for (const [k, v] of Object.entries(where)) qb.andWhere(`e.${k} = :${k}`, { [k]: v });
    return qb.getMany();
  }
  const out: T[] = [];
  for (const part of chunks(ids))
    out.push(
      ...(await manager.find(entity, {
        ...(select ? { select: Object.fromEntries(select.map((c) => [c, true])) } : {}),
        where: { ...where, [idProperty]: In(part) },
      } as FindManyOptions<T>)),
    );
  return out;
}

/** Runs `fn` over `items` with at most `window` calls in flight. */
export async function inWindow<T>(
  items: readonly T[],
  window: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
}

@Injectable()
export class DeviceStateService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly log = new Logger('DeviceState');
  private readonly reports: Batcher<StoredReport>;
  private readonly statuses: Batcher<{ deviceId: string; status: Status }>;
  private readonly reportListeners: Array<(reports: StoredReport[]) => Promise<void> | void> = [];
  private readonly onlineListeners: Array<(deviceIds: string[]) => Promise<void> | void> = [];

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ControlService) private readonly control: ControlService,
    @Inject(PoliciesService) private readonly policies: PoliciesService,
    @Inject(DevicesService) private readonly devices: DevicesService,
  ) {
    this.reports = new Batcher({ name: 'ReportIngest', delayMs: 20, maxItems: 2000 }, (b) =>
      this.storeReports(b),
    );
    this.statuses = new Batcher({ name: 'StatusIngest', delayMs: 20, maxItems: 2000 }, (b) =>
      this.storeStatuses(b),
    );
  }

  onModuleInit(): void {
    this.control.on('reported', (m) => this.receiveReport(m));
    this.control.on('status', (m) => this.receiveStatus(m));
    this.control.onConnect(() => this.republishDesired());
  }

  /** Called with the reports of each stored batch (rollouts judge outcomes from them). */
  onReportsStored(listener: (reports: StoredReport[]) => Promise<void> | void): void {
    this.reportListeners.push(listener);
  }

  /** Called with devices that just came online (key re-delivery, initial assignment). */
  onCameOnline(listener: (deviceIds: string[]) => Promise<void> | void): void {
    this.onlineListeners.push(listener);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.reports.flush(), this.statuses.flush()]);
  }

  // ---- desired ----

  /**
   * Writes desired state for many devices in one domain, inside `tx`. Each
   * device gets a version above anything it has seen (desired, applied or
   * rejected). Devices already desired at this hash are left alone. Returns
   * the messages to publish once the transaction has committed.
   */
  async assign(
    tx: EntityManager,
    domain: Exclude<StateDomain, 'keys'>,
    items: readonly DesiredAssignment[],
  ): Promise<Array<{ deviceId: string; message: DesiredState }>> {
    const out: Array<{ deviceId: string; message: DesiredState }> = [];
    const now = new Date();
    const pg = isPostgres(tx.connection);
    // The message differs per device only in its version: build (and hash) it once per spec.
    const templates = new Map<JsonObject, DesiredState>();
    const message = (spec: JsonObject, version: number): DesiredState => {
      let m = templates.get(spec);
      if (!m)
        templates.set(
          spec,
          (m = buildDesired(domain as DesiredDomain, version, spec, now.getTime())),
        );
      return { ...m, version };
    };
    for (const part of chunks(items, pg ? PG_CHUNK : CHUNK)) {
      const ids = part.map((i) => i.deviceId);
      const floors = await this.versionFloors(tx, domain, ids);
      const rows: DeviceDesired[] = [];
      for (const item of part) {
        const floor = floors.get(item.deviceId);
        if (
          floor?.hash === item.hash &&
          floor.policy === item.policy &&
          floor.policyVersion === item.policyVersion
        )
          continue;
        const version = (floor?.version ?? 0) + 1;
        rows.push({ ...item, domain, version, publishedAt: now });
        out.push({ deviceId: item.deviceId, message: message(item.spec, version) });
      }
      await upsertDesired(tx, rows);
    }
    return out;
  }

  /** Publishes desired messages (retained), many in flight at once. */
  async publish(
    messages: ReadonlyArray<{ deviceId: string; message: DesiredState }>,
  ): Promise<void> {
    await inWindow(messages, PUBLISH_WINDOW, ({ deviceId, message }) =>
      this.control.publishDesired(deviceId, message).catch((err: Error) => {
        // Still in the database: republished on the next (re)connect.
        this.log.warn(
          `desired ${message.domain} v${message.version} to ${deviceId}: ${err.message}`,
        );
      }),
    );
  }

  /**
   * Publishes every desired policy/retention state again. Run on each
   * (re)connect: an in-memory broker that restarted has lost its retained
   * messages; agents ignore an exact duplicate of what they run.
   */
  async republishDesired(): Promise<void> {
    const rows = await this.ds
      .getRepository(DeviceDesired)
      .find({ where: { domain: In(['policy', 'retention']) } });
    await this.publish(
      rows.map((r) => ({
        deviceId: r.deviceId,
        message: {
          v: 1,
          type: 'desired',
          domain: r.domain as DesiredDomain,
          version: r.version,
          hash: r.hash,
          spec: r.spec as JsonObject,
          issuedAt: r.publishedAt.getTime(),
        },
      })),
    );
    if (rows.length > 0) this.log.log(`republished ${rows.length} desired states`);
  }

  /**
   * Gives devices without a desired policy/retention state the deployed
   * version of the policy that governs them (new devices, or devices whose
   * policy appeared since).
   */
  async assignDeployed(deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    const messages = await this.ds.transaction(async (tx) => {
      const devices = await findByDeviceIds(tx, Device, 'id', deviceIds);
      const out: Array<{ deviceId: string; message: DesiredState }> = [];
      for (const domain of ['policy', 'retention'] as const) {
        const have = new Set(
          (
            await findByDeviceIds(tx, DeviceDesired, 'deviceId', deviceIds, { domain }, [
              'deviceId',
            ])
          ).map((r) => r.deviceId),
        );
        const candidates = devices.filter((d) => !have.has(d.id));
        if (candidates.length === 0) continue;
        const policies = await this.policies.ofDomain(domain, tx);
        const items: DesiredAssignment[] = [];
        const versions = new Map<string, PolicyVersion>(); // read once per policy, not per device
        for (const d of candidates) {
          const p = governingPolicy(policies, d.labels);
          if (!p || p.deployedVersion === null) continue;
          let v = versions.get(p.name);
          if (!v)
            versions.set(
              p.name,
              (v = await tx.findOneByOrFail(PolicyVersion, {
                policy: p.name,
                version: p.deployedVersion,
              })),
            );
          items.push({
            deviceId: d.id,
            spec: v.spec,
            hash: v.hash,
            policy: p.name,
            policyVersion: v.version,
          });
        }
        out.push(...(await this.assign(tx, domain, items)));
      }
      return out;
    });
    await this.publish(messages);
  }

  // ---- reported and presence ----

  private receiveReport(m: Inbound): void {
    if (m.message.type !== 'reported') return;
    this.reports.add({ deviceId: m.route.deviceId, report: m.message });
  }

  private receiveStatus(m: Inbound): void {
    if (m.message.type !== 'status') return;
    this.statuses.add({ deviceId: m.route.deviceId, status: m.message });
  }

  private async storeReports(batch: StoredReport[]): Promise<void> {
    // Latest per device and domain wins; messages of unknown devices are dropped.
    const latest = new Map<string, StoredReport>();
    for (const r of batch) latest.set(`${r.deviceId}\0${r.report.domain}`, r);
    const now = new Date();
    if (isPostgres(this.ds)) {
      const stored = await this.upsertReportsPostgres([...latest.values()], now);
      for (const l of this.reportListeners) await l(stored);
      return;
    }
    const known = await this.knownDevices([...new Set(batch.map((r) => r.deviceId))]);
    const rows: DeviceReported[] = [];
    const stored: StoredReport[] = [];
    for (const r of latest.values()) {
      if (!known.has(r.deviceId)) continue;
      const m = r.report;
      stored.push(r);
      rows.push({
        deviceId: r.deviceId,
        domain: m.domain,
        version: m.version,
        hash: m.hash,
        status: m.status,
        error: m.error ?? null,
        rejectedVersion: m.rejectedVersion ?? null,
        at: new Date(m.appliedAt),
        receivedAt: now,
      });
    }
    await this.ds.transaction(async (tx) => {
      for (const part of chunks(rows))
        await tx.upsert(DeviceReported, part, ['deviceId', 'domain']);
    });
    for (const l of this.reportListeners) await l(stored);
  }

  /** storeReports on PostgreSQL: one upsert; the join drops unknown devices, RETURNING says which were stored. */
  private async upsertReportsPostgres(reports: StoredReport[], now: Date): Promise<StoredReport[]> {
    if (reports.length === 0) return [];
    const stored = new Set<string>();
    await this.ds.transaction(async (tx) => {
      for (const part of chunks(reports, PG_CHUNK)) {
        const rows = part.map(({ deviceId, report: m }) => ({
          d: deviceId,
          o: m.domain,
          v: m.version,
          h: m.hash,
          s: m.status,
          e: m.error ?? null,
          rv: m.rejectedVersion ?? null,
          a: new Date(m.appliedAt).toISOString(),
        }));
        const res: Array<{ device_id: string; domain: string }> = await tx.query(
          `INSERT INTO device_reported (device_id, domain, version, hash, status, error, rejected_version, at, received_at)
           SELECT r.d, r.o, r.v, r.h, r.s, r.e, r.rv, r.a, $2
             FROM jsonb_to_recordset($1::jsonb) AS r(d varchar, o varchar, v integer, h varchar, s varchar, e text, rv integer, a timestamptz)
             JOIN devices ON devices.id = r.d
           ON CONFLICT (device_id, domain) DO UPDATE SET
             version = EXCLUDED.version, hash = EXCLUDED.hash, status = EXCLUDED.status, error = EXCLUDED.error,
             rejected_version = EXCLUDED.rejected_version, at = EXCLUDED.at, received_at = EXCLUDED.received_at
           RETURNING device_id, domain`,
          [JSON.stringify(rows), now],
        );
        for (const r of res) stored.add(`${r.device_id}\0${r.domain}`);
      }
    });
    return reports.filter((r) => stored.has(`${r.deviceId}\0${r.report.domain}`));
  }

  private async storeStatuses(batch: Array<{ deviceId: string; status: Status }>): Promise<void> {
    const latest = new Map<string, Status>();
    for (const s of batch) latest.set(s.deviceId, s.status);
    const known = await this.knownDevices([...latest.keys()]);
    const now = new Date();
    // One UPDATE per (state, agent version) group instead of one per device.
    const groups = new Map<string, string[]>();
    for (const [id, s] of latest) {
      if (!known.has(id)) continue;
      const key = `${s.state}\0${s.agentVersion ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), id]);
    }
    const cameOnline: string[] = [];
    const pg = isPostgres(this.ds);
    await this.ds.transaction(async (tx) => {
      for (const [key, ids] of groups) {
        const [state, agentVersion] = key.split('\0');
        if (pg) {
          await tx.query(
            `UPDATE devices SET online = $1, last_seen_at = $2${agentVersion ? ', agent_version = $4' : ''} WHERE id = ANY($3::varchar[])`,
            agentVersion
              ? [state === 'online', now, ids, agentVersion]
              : [state === 'online', now, ids],
          );
          if (state === 'online') cameOnline.push(...ids);
          continue;
        }
        for (const part of chunks(ids)) {
          const set: Record<string, unknown> = {
            online: state === 'online', // entity value: TypeORM converts it per driver
            lastSeenAt: now,
          };
          if (agentVersion) set.agentVersion = agentVersion;
          await tx
            .createQueryBuilder()
            .update(Device)
            .set(set)
            .where({ id: In(part) })
            .execute();
        }
        if (state === 'online') cameOnline.push(...ids);
      }
    });
    if (cameOnline.length > 0) {
      await this.assignDeployed(cameOnline);
      for (const l of this.onlineListeners) await l(cameOnline);
    }
  }

  private async knownDevices(ids: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    if (isPostgres(this.ds)) {
      const rows: Array<{ id: string }> = await this.ds.query(
        `SELECT id FROM devices WHERE id = ANY($1::varchar[])`,
        [ids],
      );
      for (const r of rows) known.add(r.id);
      return known;
    }
    for (const part of chunks(ids)) {
      for (const d of await this.ds
        .getRepository(Device)
        .find({ select: { id: true }, where: { id: In(part) } }))
        known.add(d.id);
    }
    return known;
  }

  // ---- queries ----

  async stateOf(deviceId: string): Promise<{ device: Device; domains: DomainState[] }> {
    const device = await this.devices.get(deviceId);
    const [desired, reported] = await Promise.all([
      this.ds.getRepository(DeviceDesired).findBy({ deviceId }),
      this.ds.getRepository(DeviceReported).findBy({ deviceId }),
    ]);
    const domains = STATE_DOMAINS.map((domain) => {
      const want = desired.find((r) => r.domain === domain) ?? null;
      const have = reported.find((r) => r.domain === domain) ?? null;
      return { domain, desired: want, reported: have, inSync: inSync(want, have) };
    });
    return { device, domains };
  }

  /** Every device and domain where what runs differs from what should. */
  async drift(): Promise<Array<DomainState & { deviceId: string }>> {
    const [desired, reported] = await Promise.all([
      this.ds.getRepository(DeviceDesired).find({ order: { deviceId: 'ASC', domain: 'ASC' } }),
      this.ds.getRepository(DeviceReported).find(),
    ]);
    const byKey = new Map(reported.map((r) => [`${r.deviceId}\0${r.domain}`, r]));
    return desired
      .map((want) => {
        const have = byKey.get(`${want.deviceId}\0${want.domain}`) ?? null;
        return {
          deviceId: want.deviceId,
          domain: want.domain,
          desired: want,
          reported: have,
          inSync: inSync(want, have),
        };
      })
      .filter((s) => !s.inSync);
  }

  /** Desired and reported rows of many devices in one domain (rollout bookkeeping). */
  async rowsOf(
    domain: StateDomain,
    deviceIds: readonly string[],
  ): Promise<{ desired: Map<string, DeviceDesired>; reported: Map<string, DeviceReported> }> {
    const desired = new Map<string, DeviceDesired>();
    const reported = new Map<string, DeviceReported>();
    for (const r of await findByDeviceIds(this.ds.manager, DeviceDesired, 'deviceId', deviceIds, {
      domain,
    }))
      desired.set(r.deviceId, r);
    for (const r of await findByDeviceIds(this.ds.manager, DeviceReported, 'deviceId', deviceIds, {
      domain,
    }))
      reported.set(r.deviceId, r);
    return { desired, reported };
  }

  /** The highest version each device has seen in a domain, and what it is desired at now. */
  private async versionFloors(
    tx: EntityManager,
    domain: StateDomain,
    ids: string[],
  ): Promise<Map<string, VersionFloor>> {
    const floors = new Map<string, VersionFloor>();
    // Without the spec column: JSON nobody looks at here.
    const desired = await findByDeviceIds(tx, DeviceDesired, 'deviceId', ids, { domain }, [
      'deviceId',
      'version',
      'hash',
      'policy',
      'policyVersion',
    ]);
    for (const r of desired)
      floors.set(r.deviceId, {
        version: r.version,
        hash: r.hash,
        policy: r.policy,
        policyVersion: r.policyVersion,
      });
    const reported = await findByDeviceIds(tx, DeviceReported, 'deviceId', ids, { domain }, [
      'deviceId',
      'version',
      'rejectedVersion',
    ]);
    for (const r of reported) {
      const seen = Math.max(r.version, r.rejectedVersion ?? 0);
      const f = floors.get(r.deviceId);
      if (!f)
        floors.set(r.deviceId, { version: seen, hash: null, policy: null, policyVersion: null });
      else if (seen > f.version) f.version = seen;
    }
    return floors;
  }
}

/**
 * tx.upsert(DeviceDesired, rows, ['deviceId', 'domain']): on PostgreSQL one
 * statement per 5,000 rows (the rows as one JSON parameter), on SQLite
 * TypeORM's upsert per 500 rows (8 columns × 500 stays under its 32766 variables).
 */
export async function upsertDesired(
  tx: EntityManager,
  rows: readonly DeviceDesired[],
): Promise<void> {
  if (!isPostgres(tx.connection)) {
    for (const part of chunks(rows)) await tx.upsert(DeviceDesired, part, ['deviceId', 'domain']);
    return;
  }
  for (const part of chunks(rows, PG_CHUNK)) {
    const json = JSON.stringify(
      part.map((r) => ({
        d: r.deviceId,
        o: r.domain,
        v: r.version,
        h: r.hash,
        sp: r.spec,
        p: r.policy,
        pv: r.policyVersion,
        pa: r.publishedAt.toISOString(),
      })),
    );
    await tx.query(
      `INSERT INTO device_desired (device_id, domain, version, hash, spec, policy, policy_version, published_at)
       SELECT r.d, r.o, r.v, r.h, r.sp, r.p, r.pv, r.pa
         FROM jsonb_to_recordset($1::jsonb) AS r(d varchar, o varchar, v integer, h varchar, sp jsonb, p varchar, pv integer, pa timestamptz)
       ON CONFLICT (device_id, domain) DO UPDATE SET
         version = EXCLUDED.version, hash = EXCLUDED.hash, spec = EXCLUDED.spec, policy = EXCLUDED.policy,
         policy_version = EXCLUDED.policy_version, published_at = EXCLUDED.published_at`,
      [json],
    );
  }
}
