// @netmirror/fleet-client: a typed client over the fleet manager's REST API.
export { ACTOR_HEADER, FleetClient, queryString, type FleetClientOptions } from './client.js';
export { apiErrorFrom, FleetApiError, FleetConnectionError } from './errors.js';
export * from './types.js';
