import { randomUUID, X509Certificate } from 'node:crypto';
import { createCsr, devicePublicKeysPem, fingerprint, generateDeviceKeys } from '@netmirror/crypto';
import type { DeviceKeys } from '@netmirror/crypto';
import type { DeviceIdentity, IdentityStore } from './identity-store.js';

/** What the agent needs to enroll once. */
export interface EnrollmentRequest {
  /** The fleet manager's REST base URL. */
  fleetUrl: string;
  /** The one-time token. */
  token: string;
  /** Pin: the CA's public-key fingerprint (`AB:CD:…`); without it the CA is trusted on first use. */
  caFingerprint?: string;
  agentVersion: string;
  /** Where the appliance stands (set at provisioning), for the device record. */
  site?: string;
  /** Per HTTP request (default 10 s). */
  timeoutMs?: number;
}

/** The device id and key pairs one enrollment (and its retries) uses. */
export interface EnrollmentCandidate {
  deviceId: string;
  keys: DeviceKeys;
}

/**
 * An enrollment that did not complete. `retryable`: the fleet manager could
 * not be reached or failed (network, timeout, HTTP 5xx/408/429); anything
 * else (a refused token, a CA that is not the pinned one) will not get better
 * by retrying.
 */
export class EnrollmentError extends Error {
  override name = 'EnrollmentError';
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The HTTP status, when the fleet manager answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export const CA_FINGERPRINT_HEADER = 'x-netmirror-ca-fingerprint';

/**
 * Keys are made here, on the appliance. The device id is the configured one,
 * else a random UUID chosen here (not by the fleet manager), because the CSR
 * must name it before the fleet manager has answered.
 */
export function newEnrollmentCandidate(deviceId?: string): EnrollmentCandidate {
  return { deviceId: deviceId ?? randomUUID(), keys: generateDeviceKeys() };
}

/**
 * One enrollment attempt: fetch and pin the CA, send the CSR with the
 * token, check what came back, store the identity. Nothing is written to
 * the state directory unless every step succeeded.
 */
export async function enrollDevice(
  request: EnrollmentRequest,
  store: IdentityStore,
  candidate: EnrollmentCandidate = newEnrollmentCandidate(),
): Promise<DeviceIdentity> {
  const ca = await fetchPinnedCa(request);
  const enrolled = await postEnroll(request, candidate);
  if (enrolled.caPem !== null) {
    const answered = certificateFingerprint(enrolled.caPem, 'POST /enroll: caPem');
    if (answered !== ca.fingerprint) {
      throw new EnrollmentError(
        `POST /enroll answered with CA ${answered}, but GET /ca.pem served ${ca.fingerprint}; refusing it`,
        false,
      );
    }
  }
  const identity: DeviceIdentity = {
    deviceId: candidate.deviceId,
    brokerUrl: enrolled.brokerUrl,
    fleetUrl: request.fleetUrl,
    keys: candidate.keys,
    certificatePem: enrolled.certificatePem,
    caPem: ca.pem,
    caFingerprint: ca.fingerprint,
    enrolledAt: new Date().toISOString(),
  };
  try {
    store.save(identity); // checks the certificate against the CA, the key and the device id first
  } catch (err) {
    throw new EnrollmentError(`enrolled, but ${(err as Error).message}`, false);
  }
  return identity;
}

interface PinnedCa {
  pem: string;
  fingerprint: string;
}

/** GET /ca.pem, checked against its own header and against the configured pin. */
async function fetchPinnedCa(request: EnrollmentRequest): Promise<PinnedCa> {
  const url = endpoint(request.fleetUrl, 'ca.pem');
  const res = await send('GET', url, undefined, request.timeoutMs);
  if (res.status !== 200) throw httpError('GET', url, res);
  const actual = certificateFingerprint(res.text, `GET ${url}`, true);
  const header = res.headers.get(CA_FINGERPRINT_HEADER)?.toUpperCase();
  if (header !== undefined && header !== actual) {
    throw new EnrollmentError(
      `GET ${url}: the served CA's fingerprint is ${actual}, but its ${CA_FINGERPRINT_HEADER} header says ${header}; refusing it`,
      false,
    );
  }
  const pin = request.caFingerprint?.toUpperCase();
  if (pin !== undefined && pin !== actual) {
    throw new EnrollmentError(
      `CA fingerprint mismatch: fleet.caFingerprint is ${pin}, but ${url} serves a CA whose ` +
        `fingerprint is ${actual}; refusing to enroll with it`,
      false,
    );
  }
  return { pem: res.text, fingerprint: actual };
}

/** The part of POST /enroll's answer (EnrolledDeviceDto) the agent uses. */
interface EnrolledDevice {
  certificatePem: string;
  brokerUrl: string;
  caPem: string | null;
}

async function postEnroll(
  request: EnrollmentRequest,
  candidate: EnrollmentCandidate,
): Promise<EnrolledDevice> {
  const url = endpoint(request.fleetUrl, 'enroll');
  const body = {
    token: request.token,
    deviceId: candidate.deviceId,
    csrPem: await createCsr(candidate.keys, candidate.deviceId),
    publicKeys: devicePublicKeysPem(candidate.keys),
    agentVersion: request.agentVersion,
    ...(request.site !== undefined ? { site: request.site } : {}),
  };
  const res = await send('POST', url, body, request.timeoutMs);
  if (res.status !== 201 && res.status !== 200) throw httpError('POST', url, res);
  return parseEnrolledDevice(res.text, candidate.deviceId, `POST ${url}`);
}

function parseEnrolledDevice(text: string, deviceId: string, origin: string): EnrolledDevice {
  const bad = (field: string, why: string): never => {
    throw new EnrollmentError(`${origin}: answer field ${field}: ${why}`, false);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad('(body)', 'not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return bad('(body)', 'expected an object');
  const d = doc as Record<string, unknown>;
  if (d.id !== deviceId) bad('id', `expected ${deviceId}, got ${JSON.stringify(d.id)}`);
  if (typeof d.certificatePem !== 'string')
    bad('certificatePem', 'expected the issued certificate (PEM)');
  if (typeof d.brokerUrl !== 'string' || !/^mqtts?:\/\/[^/]/.test(d.brokerUrl))
    bad('brokerUrl', 'expected mqtt://HOST:PORT or mqtts://HOST:PORT');
  if (d.caPem !== null && typeof d.caPem !== 'string') bad('caPem', 'expected a PEM or null');
  return {
    certificatePem: d.certificatePem as string,
    brokerUrl: d.brokerUrl as string,
    caPem: (d.caPem as string | null) ?? null,
  };
}

function certificateFingerprint(pem: string, origin: string, mustBeCa = false): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new EnrollmentError(`${origin}: not a PEM certificate`, false);
  }
  if (mustBeCa && !cert.ca)
    throw new EnrollmentError(`${origin}: the certificate is not a CA certificate`, false);
  return fingerprint(cert.publicKey);
}

interface HttpReply {
  status: number;
  statusText: string;
  text: string;
  headers: Headers;
}

/** One HTTP exchange; a network failure or timeout is a retryable EnrollmentError. */
async function send(
  method: 'GET' | 'POST',
  url: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<HttpReply> {
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      status: res.status,
      statusText: res.statusText,
      text: await res.text(),
      headers: res.headers,
    };
  } catch (err) {
    throw new EnrollmentError(`${method} ${url}: ${networkReason(err, timeoutMs)}`, true);
  }
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

/** "POST …/enroll: HTTP 410 Gone: enrollment token has already been used". */
function httpError(method: string, url: string, res: HttpReply): EnrollmentError {
  const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  return new EnrollmentError(
    `${method} ${url}: ${status}: ${serverMessage(res.text)}`,
    retryable,
    res.status,
  );
}

/** The fleet manager's `{ message, field? }` error body, or the start of whatever it sent. */
function serverMessage(text: string): string {
  try {
    const doc = JSON.parse(text) as { message?: unknown; field?: unknown };
    const message = Array.isArray(doc.message) ? doc.message.join('; ') : doc.message;
    if (typeof message === 'string') {
      return typeof doc.field === 'string' && !message.startsWith(doc.field)
        ? `${doc.field}: ${message}`
        : message;
    }
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 200) || '(no message)';
}

function endpoint(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).href;
}
