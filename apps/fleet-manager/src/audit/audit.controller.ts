import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ParsePipe, queryInt, queryObject } from '../common/validation.js';
import { AuditService } from './audit.service.js';
import { AuditPageDto } from './dto/audit-page.dto.js';

export interface AuditQuery {
  limit: number;
  before?: number;
  target?: string;
}

export function parseAuditQuery(input: unknown): AuditQuery {
  const q = queryObject(input);
  const before =
    q.before === undefined ? undefined : queryInt(q, 'before', 0, 1, Number.MAX_SAFE_INTEGER);
  const target = typeof q.target === 'string' && q.target !== '' ? q.target : undefined;
  return { limit: queryInt(q, 'limit', 50, 1, 500), before, target };
}

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  @Get()
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1..500, default 50' })
  @ApiQuery({
    name: 'before',
    required: false,
    type: Number,
    description: 'return entries with id < before (paging)',
  })
  @ApiQuery({ name: 'target', required: false, type: String, description: 'e.g. device:tap-01' })
  @ApiOkResponse({ type: AuditPageDto })
  list(@Query(new ParsePipe(parseAuditQuery)) q: AuditQuery): Promise<AuditPageDto> {
    return this.audit.list(q);
  }
}
