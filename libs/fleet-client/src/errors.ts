/**
 * The server answered with an error status. `message` is the server's own
 * (e.g. `ttlSeconds: must be an integer between 60 and 2592000`), `field`
 * the request field it names when it names one (400 from validation).
 */
export class FleetApiError extends Error {
  override readonly name = 'FleetApiError';

  constructor(
    /** HTTP status, e.g. 404. */
    readonly status: number,
    /** HTTP reason phrase or Nest's `error`, e.g. `Not Found`. */
    readonly statusText: string,
    message: string,
    /** The offending request field, or null when the server names none. */
    readonly field: string | null,
    readonly method: string,
    readonly path: string,
    /** The parsed error body (JSON) or its text. */
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** No HTTP answer at all: refused, unresolvable, reset, or timed out. */
export class FleetConnectionError extends Error {
  override readonly name = 'FleetConnectionError';

  constructor(
    /** The URL that could not be reached. */
    readonly url: string,
    /** Why, e.g. `ECONNREFUSED` or `timed out after 30000 ms`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach ${url}: ${reason}`, options);
  }
}

/** A FleetApiError from the status and body of an error response. */
export function apiErrorFrom(
  method: string,
  path: string,
  status: number,
  statusText: string,
  text: string,
  contentType: string,
): FleetApiError {
  let body: unknown = text;
  if (contentType.includes('json') && text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  let message = '';
  let field: string | null = null;
  let reason = statusText;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string') message = b.message;
    else if (Array.isArray(b.message)) message = b.message.map(String).join('; ');
    if (typeof b.field === 'string') field = b.field;
    if (typeof b.error === 'string' && b.error !== '') reason = b.error;
  } else if (typeof body === 'string') {
    message = body.trim().slice(0, 500);
  }
  if (message === '') message = reason || `HTTP ${status}`;
  return new FleetApiError(status, reason, message, field, method, path, body);
}
