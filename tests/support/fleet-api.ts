/** The fleet manager's REST API as the e2e tests call it: JSON in and out, errors with the body. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type FleetApi = (method: string, path: string, body?: unknown) => Promise<Json>;

/** A caller for the fleet manager at `baseUrl()` (read on every call: the manager starts after the describe). */
export function fleetApi(baseUrl: () => string): FleetApi {
  return async (method, path, body) => {
    const res = await fetch(baseUrl() + path, {
      method,
      headers: { 'content-type': 'application/json', 'x-netmirror-actor': 'e2e' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json().catch(() => null)) as Json;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}
