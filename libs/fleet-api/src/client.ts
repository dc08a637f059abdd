// A promise-based face on the generated grpc-js client: one async method per
// RPC, taking a partial request (unset fields get their proto defaults) and
// sending the operator's name in `x-netmirror-actor`.
import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AcknowledgeAlertRequest,
  CreateEnrollmentTokenRequest,
  CreatePolicyRequest,
  CreatePolicyVersionRequest,
  DecommissionDeviceRequest,
  DeletePolicyRequest,
  DeployPolicyRequest,
  EnrollRequest,
  FleetServiceClient,
  GetDeviceRequest,
  GetDeviceStateRequest,
  GetFirmwareRequest,
  GetFirmwareUpdateRequest,
  GetHealthRequest,
  GetPolicyRequest,
  GetPolicyVersionRequest,
  GetRolloutRequest,
  ListAlertsRequest,
  ListAuditRequest,
  ListDevicesRequest,
  ListDriftRequest,
  ListEnrollmentTokensRequest,
  ListFirmwareRequest,
  ListFirmwareUpdatesRequest,
  ListKeysRequest,
  ListPoliciesRequest,
  ListPolicyVersionsRequest,
  ListRolloutsRequest,
  QueryTelemetryRequest,
  RolloutActionRequest,
  RotateKeysRequest,
  StartFirmwareUpdateRequest,
  StartRolloutRequest,
  UpdateDeviceRequest,
  UpdatePolicyRequest,
  UploadFirmwareRequest,
  type DeepPartial,
  type FleetServiceService,
  type MessageFns,
} from './generated/netmirror/fleet/v1/fleet.js';
import { ACTOR_METADATA_KEY } from './metadata.js';

type Rpc = keyof FleetServiceService;
export type RequestOf<K extends Rpc> = Parameters<FleetServiceService[K]['requestSerialize']>[0];
export type ResponseOf<K extends Rpc> = ReturnType<FleetServiceService[K]['responseDeserialize']>;

/** Each RPC's request type, to fill in what a partial request leaves out (tsc checks it is complete). */
const REQUESTS: { [K in Rpc]: MessageFns<RequestOf<K>> } = {
  listDevices: ListDevicesRequest,
  getDevice: GetDeviceRequest,
  updateDevice: UpdateDeviceRequest,
  decommissionDevice: DecommissionDeviceRequest,
  getDeviceState: GetDeviceStateRequest,
  createEnrollmentToken: CreateEnrollmentTokenRequest,
  listEnrollmentTokens: ListEnrollmentTokensRequest,
  enroll: EnrollRequest,
  listAudit: ListAuditRequest,
  getHealth: GetHealthRequest,
  createPolicy: CreatePolicyRequest,
  listPolicies: ListPoliciesRequest,
  getPolicy: GetPolicyRequest,
  updatePolicy: UpdatePolicyRequest,
  deletePolicy: DeletePolicyRequest,
  createPolicyVersion: CreatePolicyVersionRequest,
  listPolicyVersions: ListPolicyVersionsRequest,
  getPolicyVersion: GetPolicyVersionRequest,
  startRollout: StartRolloutRequest,
  deployPolicy: DeployPolicyRequest,
  listRollouts: ListRolloutsRequest,
  getRollout: GetRolloutRequest,
  pauseRollout: RolloutActionRequest,
  resumeRollout: RolloutActionRequest,
  abortRollout: RolloutActionRequest,
  rollbackRollout: RolloutActionRequest,
  listDrift: ListDriftRequest,
  queryTelemetry: QueryTelemetryRequest,
  listAlerts: ListAlertsRequest,
  acknowledgeAlert: AcknowledgeAlertRequest,
  listKeys: ListKeysRequest,
  rotateKeys: RotateKeysRequest,
  uploadFirmware: UploadFirmwareRequest,
  listFirmware: ListFirmwareRequest,
  getFirmware: GetFirmwareRequest,
  startFirmwareUpdate: StartFirmwareUpdateRequest,
  listFirmwareUpdates: ListFirmwareUpdatesRequest,
  getFirmwareUpdate: GetFirmwareUpdateRequest,
};

export type FleetApi = {
  [K in Rpc]: (
    request?: DeepPartial<RequestOf<K>>,
    options?: Partial<CallOptions>,
  ) => Promise<ResponseOf<K>>;
} & {
  /** The generated client underneath, for streaming options or raw calls. */
  readonly client: FleetServiceClient;
  close(): void;
};

export interface FleetApiOptions {
  /** Sent as `x-netmirror-actor` with every call; the audit log records `operator:NAME`. */
  actor?: string;
  /** Default: insecure (plain HTTP/2), which is what the fleet manager serves today. */
  credentials?: ChannelCredentials;
}

/** Connects to a fleet manager's gRPC API at `host:port` (FleetManagerHandle.grpcUrl). */
export function connectFleetApi(address: string, options: FleetApiOptions = {}): FleetApi {
  const client = new FleetServiceClient(
    address,
    options.credentials ?? grpcCredentials.createInsecure(),
  );
  const api: Record<string, unknown> = { client, close: () => client.close() };
  for (const rpc of Object.keys(REQUESTS) as Rpc[]) {
    const type = REQUESTS[rpc] as MessageFns<unknown>;
    const method = client[rpc] as unknown as (
      req: unknown,
      md: Metadata,
      opts: Partial<CallOptions>,
      cb: (err: ServiceError | null, res: unknown) => void,
    ) => unknown;
    api[rpc] = (request: unknown = {}, callOptions: Partial<CallOptions> = {}) =>
      new Promise((resolve, reject) => {
        const md = new Metadata();
        if (options.actor !== undefined) md.set(ACTOR_METADATA_KEY, options.actor);
        method.call(client, type.fromPartial(request as never), md, callOptions, (err, res) =>
          err ? reject(err) : resolve(res),
        );
      });
  }
  return api as FleetApi;
}
