import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Fields, FieldError } from '../../common/validation.js';
import { parseLabels } from '../labels.js';

/** JSON merge patch: absent = unchanged; in labels, a null value removes that label; site: null clears it. */
export class UpdateDeviceDto {
  @ApiProperty({ type: String, required: false, maxLength: 200 }) name?: string;
  @ApiProperty({ type: String, required: false, nullable: true, maxLength: 200 }) site?:
    string | null;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    description: 'merged into the current labels; a null value removes the label',
  })
  labels?: Record<string, string | null>;
}

export function parseUpdateDevice(input: unknown): UpdateDeviceDto {
  const f = new Fields(input, '', ['name', 'site', 'labels']);
  const out: UpdateDeviceDto = {};
  const name = f.optionalString('name', { max: 200 });
  if (name !== undefined) out.name = name;
  const site = f.nullableString('site', { max: 200 });
  if (site !== undefined) out.site = site;
  if (f.has('labels')) out.labels = parseLabels(f.raw('labels'), 'labels', true);
  if (Object.keys(out).length === 0)
    throw new FieldError('body', 'nothing to change: give name, site or labels');
  return out;
}
