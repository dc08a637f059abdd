import { startFleetManager, type FleetManagerHandle } from '@netmirror/fleet-manager';
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

/** The fleet manager on the embedded defaults (SQLite at `dbPath`, the in-process broker), ports chosen freely. */
export function startEmbeddedFleetManager(
  dbPath: string,
  topicRoot: string,
): Promise<FleetManagerHandle> {
  return startFleetManager({
    databaseUrl: `sqlite:${dbPath}`,
    httpPort: 0,
    embeddedBrokerPort: 0,
    logger: ['error'],
    topicRoot,
  });
}

/**
 * Deploys `spec` as the next version of policy `name` (created on first use,
 * targeted at `targetLabels`); resolves with the version deployed.
 */
export async function deployPolicy(
  api: FleetApi,
  name: string,
  targetLabels: Record<string, string>,
  spec: Json,
): Promise<number> {
  const exists = await api('GET', `/policies/${name}`).catch(() => null);
  let version = 1;
  if (exists) version = (await api('POST', `/policies/${name}/versions`, { spec })).version;
  else await api('POST', '/policies', { name, domain: 'policy', targetLabels, spec });
  await api('POST', `/policies/${name}/deploy`, { version });
  return version;
}
