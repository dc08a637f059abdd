import { createCsr, devicePublicKeysPem, generateDeviceKeys } from '@netmirror/crypto';
import type { DeviceKeys } from '@netmirror/crypto';
import type { Reply } from './http.js';

type Call = (method: string, path: string, body?: unknown) => Promise<Reply>;

/** What an enrolled device keeps: its keys, its certificate and key as TLS credentials, the CA. */
export interface EnrolledDevice {
  keys: DeviceKeys;
  ca: string;
  cert: string;
  key: string;
  /** The fleet manager's answer to `POST /enroll` (status 201 checked). */
  reply: Record<string, unknown>;
}

/** Enrolls `id` as a device does: keys made here, a one-time token with `labels`, a CSR. */
export async function enrollWithCsr(
  api: Call,
  id: string,
  labels: Record<string, string>,
): Promise<EnrolledDevice> {
  const keys = generateDeviceKeys();
  const t = await api('POST', '/enrollment-tokens', { ttlSeconds: 600, labels });
  const r = await api('POST', '/enroll', {
    token: (t.body as { token: string }).token,
    deviceId: id,
    publicKeys: devicePublicKeysPem(keys),
    csrPem: await createCsr(keys, id),
  });
  if (r.status !== 201) throw new Error(`POST /enroll for ${id}: ${r.status} ${r.text}`);
  const reply = r.body as Record<string, unknown>;
  return {
    keys,
    ca: reply.caPem as string,
    cert: reply.certificatePem as string,
    key: keys.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    reply,
  };
}
