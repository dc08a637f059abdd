// Who may do what on the MQTT broker when mqttTls is on. The identity is the
// client certificate's (verified by node:tls against the fleet CA before a
// byte of MQTT is read):
// - a device: CN = the device id = its urn:netmirror:device: SAN
//   (libs/crypto deviceIdFromCertificate). It must connect with client id =
//   its device id, and may only publish its own reports, status (also its
//   Last Will), telemetry, alerts and command responses, and subscribe to its
//   own desired state, keys and commands.
// - the fleet manager: CN = FLEET_MANAGER_IDENTITY, which has a ':' and so can
//   never be a device id (device ids are [A-Za-z0-9_.-]{1,64}, and
//   enrollment only signs CSRs whose CN is the device id). Any client id;
//   everything under the topic root (also as $share/{group}/…).
// Anything else is refused. deploy/mosquitto/acl is the same policy for an
// external Mosquitto.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { deviceIdFromCertificate } from '@netmirror/crypto';

/** Subject CN of the fleet manager's MQTT client certificate (all replicas share it). */
export const FLEET_MANAGER_IDENTITY = 'netmirror:fleet-manager';

export type MqttIdentity = { kind: 'device'; deviceId: string } | { kind: 'fleet-manager' };

/** The identity a verified client certificate names, or null if it names none we know. */
export function identityFromCertificate(
  peer: Pick<PeerCertificate, 'raw'> | null | undefined,
): MqttIdentity | null {
  const raw = peer?.raw;
  if (!raw || raw.length === 0) return null;
  const deviceId = deviceIdFromCertificate(raw);
  if (deviceId !== null) return { kind: 'device', deviceId };
  try {
    const cert = new X509Certificate(raw);
    if (cert.subject === `CN=${FLEET_MANAGER_IDENTITY}`) return { kind: 'fleet-manager' };
  } catch {
    return null;
  }
  return null;
}

export function describeIdentity(id: MqttIdentity | null | undefined): string {
  if (!id) return 'no identity';
  return id.kind === 'device' ? `device ${id.deviceId}` : FLEET_MANAGER_IDENTITY;
}

/** A single topic level a device may fill in (no wildcard, not empty). */
const LEVEL = /^[A-Za-z0-9_.-]{1,64}$/;

export class MqttAcl {
  private readonly prefix: string;

  constructor(readonly root: string) {
    this.prefix = `${root}/`;
  }

  /** May a client with this identity and MQTT client id connect? Null = yes, else why not. */
  connectRefusal(id: MqttIdentity | null, clientId: string): string | null {
    if (!id) return 'no client certificate naming a device or the fleet manager';
    if (id.kind === 'device' && clientId !== id.deviceId)
      return `client id ${JSON.stringify(clientId)} is not the certificate's device id ${id.deviceId}`;
    return null;
  }

  mayPublish(id: MqttIdentity | null | undefined, topic: string): boolean {
    if (!id || !topic.startsWith(this.prefix)) return false;
    if (id.kind === 'fleet-manager') return true;
    const parts = topic.slice(this.prefix.length).split('/');
    if (parts[0] !== id.deviceId) return false;
    const [kind, arg, ...more] = parts.slice(1);
    if (more.length > 0) return false;
    if (kind === 'status' || kind === 'telemetry' || kind === 'alerts') return arg === undefined;
    if (kind === 'reported' || kind === 'response') return arg !== undefined && LEVEL.test(arg);
    return false;
  }

  maySubscribe(id: MqttIdentity | null | undefined, filter: string): boolean {
    if (!id) return false;
    if (id.kind === 'fleet-manager') {
      const plain = /^\$share\/[^/+#]+\//.test(filter)
        ? filter.replace(/^\$share\/[^/]+\//, '')
        : filter;
      return plain.startsWith(this.prefix);
    }
    if (!filter.startsWith(this.prefix)) return false;
    const parts = filter.slice(this.prefix.length).split('/');
    if (parts[0] !== id.deviceId) return false;
    const [kind, arg, ...more] = parts.slice(1);
    if (more.length > 0) return false;
    if (kind === 'keys') return arg === undefined;
    if (kind === 'desired' || kind === 'cmd')
      return arg !== undefined && (arg === '+' || LEVEL.test(arg));
    return false;
  }
}
