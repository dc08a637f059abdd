// The audit log: record() inside the caller's transaction, list() newest first.
// There is deliberately no update or delete method.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditEntry, type AuditDetails } from './audit-entry.entity.js';

export interface AuditRecord {
  actor: string;
  action: string;
  target: string;
  details?: AuditDetails;
}

export interface AuditPage {
  items: AuditEntry[];
  /** Pass as ?before= to get the next (older) page; null when there is none. */
  nextBefore: number | null;
}

@Injectable()
export class AuditService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  /** Must be given the EntityManager of the transaction that makes the change. */
  async record(tx: EntityManager, rec: AuditRecord): Promise<void> {
    const row = new AuditEntry();
    row.actor = rec.actor;
    row.action = rec.action;
    row.target = rec.target;
    row.details = rec.details ?? {};
    row.at = new Date();
    await tx.save(row); // save(): insert's QueryDeepPartialEntity type rejects unknown-valued JSON
  }

  async list(opts: { limit: number; before?: number; target?: string }): Promise<AuditPage> {
    const q = this.ds
      .getRepository(AuditEntry)
      .createQueryBuilder('a')
      .orderBy('a.id', 'DESC')
      .take(opts.limit + 1);
    if (opts.before !== undefined) q.andWhere('a.id < :before', { before: opts.before });
    if (opts.target !== undefined) q.andWhere('a.target = :target', { target: opts.target });
    const rows = await q.getMany();
    const items = rows.slice(0, opts.limit);
    return { items, nextBefore: rows.length > opts.limit ? items[items.length - 1].id : null };
  }
}
