// The names both ends of the fleet API agree on, beyond the proto.

/** Request metadata naming the operator, recorded in the audit log (the REST header of the same name). */
export const ACTOR_METADATA_KEY = 'x-netmirror-actor';

/** Trailing metadata of an INVALID_ARGUMENT error: the request field at fault, e.g. `labels.rack`. */
export const FIELD_METADATA_KEY = 'x-netmirror-field';

/**
 * Trailing metadata of an error whose REST body carries a machine-readable
 * `reason`: why a firmware image was refused (header, crc, board, key,
 * signature, size).
 */
export const REASON_METADATA_KEY = 'x-netmirror-reason';

/** The fully qualified service name, as in grpc paths (`/netmirror.fleet.v1.FleetService/GetDevice`). */
export const FLEET_SERVICE_NAME = 'netmirror.fleet.v1.FleetService';
