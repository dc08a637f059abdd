// A typed client over the fleet manager's REST API: one method per endpoint,
// Node's global fetch underneath. Errors: FleetApiError (the server said no)
// or FleetConnectionError (no answer).
import { apiErrorFrom, FleetApiError, FleetConnectionError } from './errors.js';
import type {
  Alert,
  AlertList,
  AlertQuery,
  AuditPage,
  AuditQuery,
  CaCertificate,
  CreatedToken,
  CreatePolicyRequest,
  CreateTokenRequest,
  Device,
  DeviceList,
  DeviceState,
  DriftList,
  EnrollmentToken,
  EnrollRequest,
  FirmwareImage,
  FirmwareUpdate,
  Health,
  KeySet,
  ListDevicesQuery,
  Policy,
  PolicyVersion,
  PushVersionRequest,
  Rollout,
  StartFirmwareUpdateRequest,
  StartRolloutRequest,
  TelemetryList,
  TelemetryQuery,
  UpdateDeviceRequest,
  UpdatePolicyRequest,
} from './types.js';

export const ACTOR_HEADER = 'X-NetMirror-Actor';

export interface FleetClientOptions {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  url: string;
  /** Operator name sent as X-NetMirror-Actor and recorded in the audit log. */
  actor?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

type QueryValue = string | number | boolean | undefined;
type Query = Array<[string, QueryValue]>;

interface RequestOptions {
  query?: Query;
  /** JSON, or raw bytes sent as application/octet-stream. */
  body?: unknown;
  /** Statuses other than 2xx whose body is still the answer (GET /health's 503). */
  alsoOk?: number[];
}

interface Answer {
  status: number;
  text: string;
  contentType: string;
  headers: Headers;
}

export class FleetClient {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  readonly actor: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: FleetClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(`fleet URL "${options.url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new TypeError(`fleet URL "${options.url}" must be http:// or https://`);
    if (parsed.search !== '' || parsed.hash !== '')
      throw new TypeError(`fleet URL "${options.url}" must not have a query or fragment`);
    this.url = parsed.href.replace(/\/+$/, '');
    this.actor = options.actor;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  // ---- devices

  /** `GET /devices?label=k=v&online=&limit=&offset=`; all labels must match. */
  listDevices(query: ListDevicesQuery = {}): Promise<DeviceList> {
    const q: Query = Object.entries(query.labels ?? {}).map(([k, v]) => ['label', `${k}=${v}`]);
    q.push(['online', query.online], ['limit', query.limit], ['offset', query.offset]);
    return this.json('GET', '/devices', { query: q });
  }

  getDevice(id: string): Promise<Device> {
    return this.json('GET', `/devices/${seg(id)}`);
  }

  /** `PATCH /devices/:id` (merge patch: a null label value removes the label). */
  updateDevice(id: string, patch: UpdateDeviceRequest): Promise<Device> {
    return this.json('PATCH', `/devices/${seg(id)}`, { body: patch });
  }

  /** `DELETE /devices/:id`: decommissions the device. */
  async removeDevice(id: string): Promise<void> {
    await this.send('DELETE', `/devices/${seg(id)}`);
  }

  /** `GET /devices/:id/state`: desired vs reported, per domain. */
  getDeviceState(id: string): Promise<DeviceState> {
    return this.json('GET', `/devices/${seg(id)}/state`);
  }

  /** `GET /drift`: every device domain that is not in sync. */
  getDrift(): Promise<DriftList> {
    return this.json('GET', '/drift');
  }

  // ---- enrollment

  createEnrollmentToken(request: CreateTokenRequest): Promise<CreatedToken> {
    return this.json('POST', '/enrollment-tokens', { body: request });
  }

  listEnrollmentTokens(): Promise<EnrollmentToken[]> {
    return this.json('GET', '/enrollment-tokens');
  }

  /** `POST /enroll`, as an appliance does with its one-time token. */
  enroll(request: EnrollRequest): Promise<Device> {
    return this.json('POST', '/enroll', { body: request });
  }

  /** `GET /ca.pem`: the fleet CA certificate and its SPKI fingerprint. */
  async getCaCertificate(): Promise<CaCertificate> {
    const a = await this.send('GET', '/ca.pem');
    return { pem: a.text, fingerprint: a.headers.get('x-netmirror-ca-fingerprint') };
  }

  // ---- policies

  /** `POST /policies`: creates the policy with version 1, not deployed. */
  createPolicy(request: CreatePolicyRequest): Promise<Policy> {
    return this.json('POST', '/policies', { body: request });
  }

  listPolicies(): Promise<Policy[]> {
    return this.json('GET', '/policies');
  }

  getPolicy(name: string): Promise<Policy> {
    return this.json('GET', `/policies/${seg(name)}`);
  }

  updatePolicy(name: string, patch: UpdatePolicyRequest): Promise<Policy> {
    return this.json('PATCH', `/policies/${seg(name)}`, { body: patch });
  }

  async removePolicy(name: string): Promise<void> {
    await this.send('DELETE', `/policies/${seg(name)}`);
  }

  /** `POST /policies/:name/versions`: a new version (not deployed). */
  pushPolicyVersion(name: string, request: PushVersionRequest): Promise<PolicyVersion> {
    return this.json('POST', `/policies/${seg(name)}/versions`, { body: request });
  }

  listPolicyVersions(name: string): Promise<PolicyVersion[]> {
    return this.json('GET', `/policies/${seg(name)}/versions`);
  }

  getPolicyVersion(name: string, version: number): Promise<PolicyVersion> {
    return this.json('GET', `/policies/${seg(name)}/versions/${version}`);
  }

  /** `POST /policies/:name/deploy`: one stage, every targeted device at once. */
  deployPolicy(name: string, version: number): Promise<Rollout> {
    return this.json('POST', `/policies/${seg(name)}/deploy`, { body: { version } });
  }

  // ---- rollouts

  /** `POST /rollouts`: canary, then waves. */
  startRollout(request: StartRolloutRequest): Promise<Rollout> {
    return this.json('POST', '/rollouts', { body: request });
  }

  listRollouts(query: { policy?: string } = {}): Promise<Rollout[]> {
    return this.json('GET', '/rollouts', { query: [['policy', query.policy]] });
  }

  getRollout(id: string): Promise<Rollout> {
    return this.json('GET', `/rollouts/${seg(id)}`);
  }

  pauseRollout(id: string): Promise<Rollout> {
    return this.json('POST', `/rollouts/${seg(id)}/pause`);
  }

  resumeRollout(id: string): Promise<Rollout> {
    return this.json('POST', `/rollouts/${seg(id)}/resume`);
  }

  abortRollout(id: string): Promise<Rollout> {
    return this.json('POST', `/rollouts/${seg(id)}/abort`);
  }

  /** Puts the previous version back on the devices this rollout reached. */
  rollbackRollout(id: string): Promise<Rollout> {
    return this.json('POST', `/rollouts/${seg(id)}/rollback`);
  }

  // ---- telemetry, alerts

  getTelemetry(deviceId: string, query: TelemetryQuery = {}): Promise<TelemetryList> {
    return this.json('GET', `/devices/${seg(deviceId)}/telemetry`, {
      query: [
        ['from', query.from],
        ['to', query.to],
        ['limit', query.limit],
      ],
    });
  }

  listAlerts(query: AlertQuery = {}): Promise<AlertList> {
    return this.json('GET', '/alerts', {
      query: [
        ['deviceId', query.deviceId],
        ['severity', query.severity],
        ['from', query.from],
        ['to', query.to],
        ['limit', query.limit],
      ],
    });
  }

  acknowledgeAlert(id: number | string): Promise<Alert> {
    return this.json('POST', `/alerts/${seg(String(id))}/acknowledge`);
  }

  // ---- keys (metadata only)

  getKeys(): Promise<KeySet> {
    return this.json('GET', '/keys');
  }

  /** `POST /keys/rotate`: a new active data key; the old one is retired. */
  rotateKeys(): Promise<KeySet> {
    return this.json('POST', '/keys/rotate');
  }

  // ---- audit, health, metrics

  listAudit(query: AuditQuery = {}): Promise<AuditPage> {
    return this.json('GET', '/audit', {
      query: [
        ['limit', query.limit],
        ['before', query.before],
        ['target', query.target],
      ],
    });
  }

  // ---- firmware

  /** `POST /firmware`: the image is checked (CRC, board, signature) and refused with 400 otherwise. */
  uploadFirmware(image: Uint8Array): Promise<FirmwareImage> {
    return this.json('POST', '/firmware', { body: image });
  }

  async listFirmware(): Promise<FirmwareImage[]> {
    return (await this.json<{ items: FirmwareImage[] }>('GET', '/firmware')).items;
  }

  getFirmware(id: string): Promise<FirmwareImage> {
    return this.json('GET', `/firmware/${seg(id)}`);
  }

  /** `POST /devices/:id/firmware-updates`: sends firmware.install to the (online) device. */
  startFirmwareUpdate(
    deviceId: string,
    request: StartFirmwareUpdateRequest,
  ): Promise<FirmwareUpdate> {
    return this.json('POST', `/devices/${seg(deviceId)}/firmware-updates`, { body: request });
  }

  async listFirmwareUpdates(deviceId: string): Promise<FirmwareUpdate[]> {
    return (
      await this.json<{ items: FirmwareUpdate[] }>(
        'GET',
        `/devices/${seg(deviceId)}/firmware-updates`,
      )
    ).items;
  }

  getFirmwareUpdate(deviceId: string, id: string): Promise<FirmwareUpdate> {
    return this.json('GET', `/devices/${seg(deviceId)}/firmware-updates/${seg(id)}`);
  }

  /** `GET /health`; resolves for 503 too (then `status` is `unavailable`). */
  health(): Promise<Health> {
    return this.json('GET', '/health', { alsoOk: [503] });
  }

  /** `GET /metrics`: Prometheus text. */
  async metrics(): Promise<string> {
    return (await this.send('GET', '/metrics')).text;
  }

  // ---- transport

  private async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const a = await this.send(method, path, options);
    if (a.text === '') return undefined as T;
    try {
      return JSON.parse(a.text) as T;
    } catch {
      throw new FleetApiError(
        a.status,
        'Invalid JSON',
        `${method} ${path}: the answer is not JSON (${a.contentType || 'no content type'})`,
        null,
        method,
        path,
        a.text,
      );
    }
  }

  private async send(method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
    const target = this.url + path + queryString(options.query ?? []);
    const headers: Record<string, string> = { accept: 'application/json, text/plain, */*' };
    if (this.actor !== undefined) headers[ACTOR_HEADER] = this.actor;
    let body: string | Uint8Array | undefined;
    if (options.body instanceof Uint8Array) {
      headers['content-type'] = 'application/octet-stream';
      body = options.body;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(target, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new FleetConnectionError(this.url, connectionReason(err, this.timeoutMs), {
        cause: err,
      });
    }
    const contentType = res.headers.get('content-type') ?? '';
    if (!res.ok && !(options.alsoOk ?? []).includes(res.status))
      throw apiErrorFrom(method, path, res.status, res.statusText, text, contentType);
    return { status: res.status, text, contentType, headers: res.headers };
  }
}

/** One path segment, escaped (ids and names never add a `/`). */
function seg(s: string): string {
  return encodeURIComponent(s);
}

/** `?a=1&label=k%3Dv`; undefined values are left out. */
export function queryString(query: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of query) if (v !== undefined) p.append(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

/** fetch's TypeError hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...). */
function connectionReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `timed out after ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown }) : null;
  if (cause && typeof cause === 'object') {
    if (typeof cause.code === 'string') return cause.code;
    if (typeof cause.message === 'string') return cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}
