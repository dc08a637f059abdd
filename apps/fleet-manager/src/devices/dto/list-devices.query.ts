import { FieldError, queryInt, queryObject } from '../../common/validation.js';
import { parseLabelSelector } from '../labels.js';

export interface ListDevicesQuery {
  /** All must match. */
  labels: Array<[string, string]>;
  online?: boolean;
  limit: number;
  offset: number;
}

export function parseListDevices(input: unknown): ListDevicesQuery {
  const q = queryObject(input);
  const raw = q.label;
  const selectors = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const labels = selectors.map((s) => {
    if (typeof s !== 'string') throw new FieldError('label', 'must be key=value');
    return parseLabelSelector(s);
  });
  let online: boolean | undefined;
  if (q.online !== undefined) {
    if (q.online !== 'true' && q.online !== 'false')
      throw new FieldError('online', 'must be true or false');
    online = q.online === 'true';
  }
  return {
    labels,
    online,
    limit: queryInt(q, 'limit', 100, 1, 1000),
    offset: queryInt(q, 'offset', 0, 0, 1e9),
  };
}
