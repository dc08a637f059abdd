// Device ids go into MQTT topics (libs/protocol: `[A-Za-z0-9_.-]{1,64}`), a
// certificate CN, a URI SAN, and the key-wrap AAD `…|{deviceId}|{keyId}`.
// None of those characters can be `|`, so the AAD is unambiguous.

const DEVICE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const KEY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The URI SAN prefix that names a device in its client certificate. */
export const DEVICE_URN_PREFIX = 'urn:netmirror:device:';

export function isValidDeviceId(s: unknown): s is string {
  return typeof s === 'string' && DEVICE_ID.test(s);
}

export function isValidKeyId(s: unknown): s is string {
  return typeof s === 'string' && KEY_ID.test(s);
}

export function requireDeviceId(s: string): string {
  if (!isValidDeviceId(s))
    throw new TypeError(`invalid deviceId ${JSON.stringify(s)}: expected [A-Za-z0-9_.-]{1,64}`);
  return s;
}

export function requireKeyId(s: string): string {
  if (!isValidKeyId(s))
    throw new TypeError(`invalid keyId ${JSON.stringify(s)}: expected [A-Za-z0-9_.:-]{1,128}`);
  return s;
}

export function deviceUrn(deviceId: string): string {
  return DEVICE_URN_PREFIX + requireDeviceId(deviceId);
}
