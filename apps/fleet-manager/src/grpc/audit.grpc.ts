// The audit log over gRPC: ListAudit.
import { Inject, Injectable } from '@nestjs/common';
import type { FleetServiceServer } from '@netmirror/fleet-api';
import { parseAuditQuery } from '../audit/audit.controller.js';
import { AuditService } from '../audit/audit.service.js';
import { unary } from './call.js';
import { opt, queryValue } from './convert.js';

@Injectable()
export class AuditGrpc {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  handlers(): Pick<FleetServiceServer, 'listAudit'> {
    return {
      listAudit: unary(async (req) => {
        const q = parseAuditQuery({
          limit: queryValue(req.limit),
          before: queryValue(req.before),
          target: req.target,
        });
        const page = await this.audit.list(q);
        return {
          items: page.items.map((a) => ({
            id: a.id,
            actor: a.actor,
            action: a.action,
            target: a.target,
            details: a.details,
            at: a.at,
          })),
          nextBefore: opt(page.nextBefore),
        };
      }),
    };
  }
}
