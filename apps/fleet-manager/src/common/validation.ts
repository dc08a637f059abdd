// Hand-written request validation (no class-validator here). A parser takes
// the raw JSON body or query and either returns a typed value or throws a 400
// that names the offending field, e.g. {"message":"ttlSeconds: must be an
// integer between 60 and 2592000","field":"ttlSeconds"}.
import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';

export class FieldError extends BadRequestException {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super({ statusCode: 400, error: 'Bad Request', field, message: `${field}: ${problem}` });
  }
}

export type Parser<T> = (input: unknown) => T;

/** Runs a parser on @Body() or @Query(); anything it throws that is not a FieldError becomes a 400 too. */
@Injectable()
export class ParsePipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly parse: Parser<T>) {}
  transform(value: unknown): T {
    return this.parse(value);
  }
}

/** Reads typed fields out of an untrusted object, naming the field in every error. */
export class Fields {
  private readonly obj: Record<string, unknown>;
  constructor(
    input: unknown,
    private readonly prefix = '',
    allowed?: readonly string[],
  ) {
    if (input === undefined || input === null) input = {};
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw new FieldError(prefix || 'body', 'must be a JSON object');
    }
    this.obj = input as Record<string, unknown>;
    if (allowed) {
      for (const key of Object.keys(this.obj)) {
        if (!allowed.includes(key)) throw new FieldError(this.name(key), 'unknown field');
      }
    }
  }

  private name(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  string(
    key: string,
    opts: { max?: number; min?: number; pattern?: RegExp; hint?: string } = {},
  ): string {
    const v = this.obj[key];
    const field = this.name(key);
    if (typeof v !== 'string')
      throw new FieldError(field, v === undefined ? 'is required' : 'must be a string');
    const min = opts.min ?? 1;
    const max = opts.max ?? 200;
    if (v.length < min || v.length > max)
      throw new FieldError(field, `must be ${min}..${max} characters`);
    if (opts.pattern && !opts.pattern.test(v))
      throw new FieldError(field, opts.hint ?? `must match ${opts.pattern}`);
    return v;
  }

  optionalString(
    key: string,
    opts: { max?: number; min?: number; pattern?: RegExp; hint?: string } = {},
  ): string | undefined {
    return this.obj[key] === undefined ? undefined : this.string(key, opts);
  }

  /** undefined = absent, null = explicitly cleared. */
  nullableString(key: string, opts: { max?: number } = {}): string | null | undefined {
    if (this.obj[key] === null) return null;
    return this.optionalString(key, opts);
  }

  integer(key: string, min: number, max: number): number {
    const v = this.obj[key];
    const field = this.name(key);
    if (v === undefined) throw new FieldError(field, 'is required');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new FieldError(field, `must be an integer between ${min} and ${max}`);
    }
    return v;
  }

  object(key: string, allowed?: readonly string[]): Fields {
    return new Fields(this.obj[key] ?? {}, this.name(key), allowed);
  }
}

/** Query-string integers arrive as text. */
export function queryInt(
  q: Record<string, unknown>,
  key: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const v = q[key];
  if (v === undefined || v === '') return dflt;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v))
    throw new FieldError(key, `must be an integer between ${min} and ${max}`);
  const n = Number(v);
  if (n < min || n > max) throw new FieldError(key, `must be an integer between ${min} and ${max}`);
  return n;
}

export function queryObject(input: unknown): Record<string, unknown> {
  return input !== null && typeof input === 'object' ? (input as Record<string, unknown>) : {};
}
