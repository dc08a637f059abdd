// @netmirror/fleet-api: the fleet manager's gRPC API. The messages, the
// grpc-js service definition (FleetServiceService), server interface
// (FleetServiceServer) and client (FleetServiceClient) are generated from
// proto/ by generate.mjs; connectFleetApi() wraps the client in promises.
export * from './generated/netmirror/fleet/v1/fleet.js';
export {
  ACTOR_METADATA_KEY,
  FIELD_METADATA_KEY,
  FLEET_SERVICE_NAME,
  REASON_METADATA_KEY,
} from './metadata.js';
export {
  connectFleetApi,
  type FleetApi,
  type FleetApiOptions,
  type RequestOf,
  type ResponseOf,
} from './client.js';
