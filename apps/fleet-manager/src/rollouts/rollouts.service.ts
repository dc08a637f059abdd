// Rollouts: a policy version goes to a canary set, then in waves. Outcomes
// are judged from the device_reported table, not from messages in memory, so
// any replica can advance any rollout (reports are split between replicas);
// each advance is conditional on the revision it read, so two replicas never
// push the same stage twice.
import { randomUUID } from 'node:crypto';
import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { DesiredState } from '@netmirror/protocol';
import { DataSource, In, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { inSync, DeviceStateService } from '../device-state/device-state.service.js';
import { Device } from '../devices/device.entity.js';
import { PoliciesService } from '../policies/policies.service.js';
import { Policy } from '../policies/policy.entity.js';
import type { PolicyVersion } from '../policies/policy-version.entity.js';
import type { StartRolloutDto } from './dto/rollout.dto.js';
import { Rollout, type DeviceOutcome, type RolloutStrategy } from './rollout-plan.js';
import { RolloutRecord, type OutcomeEntry } from './rollout.entity.js';

type Published = Array<{ deviceId: string; message: DesiredState }>;

const ACTIVE = ['running', 'paused'] as const;

@Injectable()
export class RolloutsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Rollouts');
  private ticking: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(PoliciesService) private readonly policies: PoliciesService,
    @Inject(DeviceStateService) private readonly state: DeviceStateService,
  ) {}

  onApplicationBootstrap(): void {
    this.state.onReportsStored((reports) => {
      if (reports.some((r) => r.report.domain !== 'keys')) void this.tick();
    });
    // Reports another replica stored, and rollouts another replica started.
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  // ---- operator API ----

  async start(dto: StartRolloutDto, actor: string): Promise<RolloutRecord> {
    return this.begin(dto.policy, dto.version, dto.strategy, actor, 'rollout.start');
  }

  /** Every governed device at once, without waiting on outcomes. */
  async deploy(name: string, version: number, actor: string): Promise<RolloutRecord> {
    return this.begin(name, version, undefined, actor, 'policy.deploy');
  }

  list(query: { policy?: string } = {}): Promise<RolloutRecord[]> {
    return this.ds.getRepository(RolloutRecord).find({
      where: query.policy ? { policy: query.policy } : {},
      order: { createdAt: 'DESC' },
      take: 200,
    });
  }

  async get(id: string, tx: EntityManager = this.ds.manager): Promise<RolloutRecord> {
    const r = await tx.findOneBy(RolloutRecord, { id });
    if (!r) throw new NotFoundException(`rollout "${id}" not found`);
    return r;
  }

  pause(id: string, actor: string): Promise<RolloutRecord> {
    return this.control(id, actor, 'pause', ['running'], (r) => r.pause());
  }

  resume(id: string, actor: string): Promise<RolloutRecord> {
    return this.control(id, actor, 'resume', ['paused'], (r) => r.resume()).then(async (r) => {
      await this.tick();
      return this.get(r.id);
    });
  }

  abort(id: string, actor: string): Promise<RolloutRecord> {
    return this.control(id, actor, 'abort', ['running', 'paused'], (r) => r.abort());
  }

  /** Gives every device this rollout reached the version deployed before it, as a new version. */
  async rollback(id: string, actor: string): Promise<RolloutRecord> {
    const { record, published } = await this.ds.transaction(async (tx) => {
      const record = await this.get(id, tx);
      if (record.status === 'rolled-back') throw new ConflictException('already rolled back');
      if (record.previousVersion === null)
        throw new ConflictException(
          `policy "${record.policy}" had no deployed version before this rollout; nothing to roll back to`,
        );
      const policy = await this.policies.get(record.policy, tx);
      const previous = await this.policies.getVersion(record.policy, record.previousVersion, tx);
      const reached = record.stages.slice(0, record.started).flat();
      const published = await this.state.assign(
        tx,
        record.domain,
        reached.map((deviceId) => assignment(deviceId, previous)),
      );
      record.status = 'rolled-back';
      record.reason = `rolled back to version ${previous.version} by ${actor}`;
      await this.save(tx, record);
      await tx.update(
        Policy,
        { name: policy.name },
        { deployedVersion: previous.version, updatedAt: new Date() },
      );
      await this.audit.record(tx, {
        actor,
        action: 'rollout.rollback',
        target: `rollout:${id}`,
        details: {
          policy: record.policy,
          from: record.version,
          to: previous.version,
          devices: reached.length,
        },
      });
      return { record, published };
    });
    await this.state.publish(published);
    return record;
  }

  // ---- the engine ----

  /** Judges outcomes and advances every running rollout; serialised. */
  tick(): Promise<void> {
    this.ticking = this.ticking
      .then(() => this.advanceAll())
      .catch((err: Error) => {
        this.log.warn(`rollout tick failed: ${err.message}`);
      });
    return this.ticking;
  }

  private async advanceAll(): Promise<void> {
    const running = await this.ds.getRepository(RolloutRecord).findBy({ status: 'running' });
    for (const record of running) await this.advance(record);
  }

  private async advance(record: RolloutRecord): Promise<void> {
    const changed = await this.judge(record);
    const rollout = resume(record);
    const step = rollout.next();
    if (step.action === 'wait') {
      if (changed) await this.persist(record, rollout, null);
      return;
    }
    let published: Published = [];
    const ok = await this.ds
      .transaction(async (tx) => {
        if (step.action === 'push') {
          const version = await this.policies.getVersion(record.policy, record.version, tx);
          published = await this.state.assign(
            tx,
            record.domain,
            step.devices.map((d) => assignment(d, version)),
          );
        } else if (step.status === 'completed') {
          await tx.update(
            Policy,
            { name: record.policy },
            { deployedVersion: record.version, updatedAt: new Date() },
          );
        }
        const reason = step.action === 'stop' ? step.reason : null;
        // Throwing rolls back the stage's desired state too.
        if (!(await this.persistIn(tx, record, rollout, reason))) throw new StaleRevision();
        return true;
      })
      .catch((err: unknown) => {
        if (err instanceof StaleRevision) return false;
        throw err;
      });
    if (!ok) return; // another replica (or tick) advanced it first
    if (step.action === 'push') {
      this.log.log(`rollout ${record.id}: stage ${step.stage} → ${step.devices.length} devices`);
      await this.state.publish(published);
    } else {
      this.log.log(`rollout ${record.id}: ${step.status} (${step.reason})`);
    }
  }

  /** Updates pending outcomes from what devices reported; true if any changed. */
  private async judge(record: RolloutRecord): Promise<boolean> {
    const pending = Object.entries(record.outcomes)
      .filter(([, o]) => o.outcome === 'pending')
      .map(([d]) => d);
    if (pending.length === 0) return false;
    if (this.ds.options.type === 'postgres') return this.judgePostgres(record, pending);
    const { desired, reported } = await this.state.rowsOf(record.domain, pending);
    let changed = false;
    for (const deviceId of pending) {
      const want = desired.get(deviceId);
      const have = reported.get(deviceId) ?? null;
      // Another rollout (or a roll back) has since given this device something else.
      if (!want || want.policy !== record.policy || want.policyVersion !== record.version) continue;
      let next: OutcomeEntry | null = null;
      if (inSync(want, have)) next = { outcome: 'applied', error: null };
      else if (have?.status === 'error' && have.rejectedVersion === want.version)
        next = { outcome: 'error', error: have.error };
      if (next) {
        record.outcomes[deviceId] = next;
        changed = true;
      }
    }
    return changed;
  }

  /**
   * judge() on PostgreSQL: the same rule as one query that returns only the
   * devices whose outcome is now known, instead of loading the desired and
   * reported rows of every pending device (10,000 entities per tick during a
   * fleet-wide deploy) and comparing them here.
   */
  private async judgePostgres(record: RolloutRecord, pending: string[]): Promise<boolean> {
    const decided: Array<{ device_id: string; applied: boolean; error: string | null }> =
      await this.ds.query(
        `SELECT d.device_id, COALESCE(r.version = d.version AND r.hash = d.hash, false) AS applied, r.error
         FROM device_desired d
         JOIN device_reported r ON r.device_id = d.device_id AND r.domain = d.domain
        WHERE d.domain = $1 AND d.device_id = ANY($2::varchar[])
          AND d.policy = $3 AND d.policy_version = $4
          AND ((r.version = d.version AND r.hash = d.hash) OR (r.status = 'error' AND r.rejected_version = d.version))`,
        [record.domain, pending, record.policy, record.version],
      );
    for (const r of decided)
      record.outcomes[r.device_id] = r.applied
        ? { outcome: 'applied', error: null }
        : { outcome: 'error', error: r.error };
    return decided.length > 0;
  }

  private async begin(
    name: string,
    version: number,
    strategy: RolloutStrategy | undefined,
    actor: string,
    action: string,
  ): Promise<RolloutRecord> {
    const record = await this.ds.transaction(async (tx) => {
      const policy = await this.policies.get(name, tx);
      await this.policies.getVersion(name, version, tx);
      const active = await tx.findOneBy(RolloutRecord, { policy: name, status: In([...ACTIVE]) });
      if (active)
        throw new ConflictException(
          `policy "${name}" already has rollout ${active.id} (${active.status}); pause, abort or wait for it`,
        );
      const devices = await tx.find(Device, {
        select: { id: true, labels: true },
        order: { id: 'ASC' },
      });
      const targets = (await this.policies.targets(policy, devices, tx)).map((d) => d.id);
      const effective = strategy ?? allAtOnce(targets.length);
      const rollout = new Rollout(targets, effective);
      const now = new Date();
      const record: RolloutRecord = {
        id: randomUUID(),
        policy: name,
        domain: policy.domain,
        version,
        previousVersion: policy.deployedVersion,
        status: 'running',
        reason: targets.length === 0 ? 'no device is governed by this policy' : null,
        strategy: effective,
        stages: rollout.stages,
        started: 0,
        outcomes: {},
        revision: 0,
        createdBy: actor,
        createdAt: now,
        updatedAt: now,
      };
      await tx.insert(RolloutRecord, record);
      await this.audit.record(tx, {
        actor,
        action,
        target: `policy:${name}`,
        details: {
          rollout: record.id,
          version,
          previousVersion: record.previousVersion,
          devices: targets.length,
          strategy: { ...effective },
        },
      });
      return record;
    });
    await this.advance(record);
    return this.get(record.id);
  }

  private async control(
    id: string,
    actor: string,
    verb: 'pause' | 'resume' | 'abort',
    from: RolloutRecord['status'][],
    apply: (r: Rollout) => void,
  ): Promise<RolloutRecord> {
    return this.ds.transaction(async (tx) => {
      const record = await this.get(id, tx);
      if (!from.includes(record.status))
        throw new ConflictException(`cannot ${verb} a rollout that is ${record.status}`);
      const rollout = resume(record);
      apply(rollout);
      const reason = verb === 'abort' ? `aborted by ${actor}` : record.reason;
      if (!(await this.persistIn(tx, record, rollout, reason)))
        throw new ConflictException('rollout changed meanwhile; try again');
      await this.audit.record(tx, {
        actor,
        action: `rollout.${verb}`,
        target: `rollout:${id}`,
        details: { policy: record.policy, version: record.version },
      });
      return record;
    });
  }

  private persist(
    record: RolloutRecord,
    rollout: Rollout,
    reason: string | null,
  ): Promise<boolean> {
    return this.ds.transaction((tx) =>
      this.persistIn(tx, record, rollout, reason ?? record.reason),
    );
  }

  /** Writes the rollout's progress if nobody else has since the revision read. */
  private async persistIn(
    tx: EntityManager,
    record: RolloutRecord,
    rollout: Rollout,
    reason: string | null,
  ): Promise<boolean> {
    const snap = rollout.snapshot();
    for (const [d, o] of Object.entries(snap.outcomes)) {
      if (record.outcomes[d]?.outcome !== o)
        record.outcomes[d] = { outcome: o, error: record.outcomes[d]?.error ?? null };
    }
    record.status = snap.status;
    record.started = snap.started;
    record.reason = reason;
    return this.save(tx, record);
  }

  private async save(tx: EntityManager, record: RolloutRecord): Promise<boolean> {
    const read = record.revision;
    record.revision = read + 1;
    record.updatedAt = new Date();
    const res = await tx.update(
      RolloutRecord,
      { id: record.id, revision: read },
      {
        status: record.status,
        reason: record.reason,
        started: record.started,
        outcomes: record.outcomes,
        revision: record.revision,
        updatedAt: record.updatedAt,
      },
    );
    return res.affected === 1;
  }
}

class StaleRevision extends Error {}

function allAtOnce(devices: number): RolloutStrategy {
  return { canary: Math.max(1, devices), waves: [], maxFailuresPerStage: devices, successRatio: 0 };
}

function resume(record: RolloutRecord): Rollout {
  const outcomes: Record<string, DeviceOutcome> = {};
  for (const [d, o] of Object.entries(record.outcomes)) outcomes[d] = o.outcome;
  return Rollout.resume({
    strategy: record.strategy,
    stages: record.stages,
    status: record.status === 'rolled-back' ? 'aborted' : record.status,
    started: record.started,
    outcomes,
  });
}

function assignment(deviceId: string, v: PolicyVersion) {
  return { deviceId, spec: v.spec, hash: v.hash, policy: v.policy, policyVersion: v.version };
}
