// A tiny JSON HTTP client for tests.
export interface Reply {
  status: number;
  body: unknown;
  text: string;
  contentType: string;
  /** The X-NetMirror-CA-Fingerprint header, if any. */
  fingerprint: string | null;
}

export function client(base: string, actor = 'alice') {
  return async function call(
    method: string,
    path: string,
    body?: unknown,
    rawBody?: string,
  ): Promise<Reply> {
    const headers: Record<string, string> = { 'x-netmirror-actor': actor };
    let payload: string | undefined;
    if (rawBody !== undefined) payload = rawBody;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: payload });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = undefined;
    if (contentType.includes('json') && text) parsed = JSON.parse(text);
    return {
      status: res.status,
      body: parsed,
      text,
      contentType,
      fingerprint: res.headers.get('x-netmirror-ca-fingerprint'),
    };
  };
}
