// Small conversions between the REST shapes (DTOs, query strings) and the
// proto messages. Every request is turned into the JSON body or query object
// the REST controller would receive and run through the same parser, so
// validation, defaults and messages are the REST API's own.

/** REST null → proto unset. */
export function opt<T>(v: T | null | undefined): T | undefined {
  return v === null ? undefined : v;
}

/** An optional number as a query-string value (REST query parameters arrive as text). */
export function queryValue(v: number | boolean | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

/** A Timestamp as the ISO text REST takes; one that is no valid date stays invalid text for the parser to refuse. */
export function queryDate(d: Date | undefined): string | undefined {
  if (d === undefined) return undefined;
  return Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString();
}
