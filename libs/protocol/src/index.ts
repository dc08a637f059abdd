export {
  TopicTree,
  topics,
  parseTopic,
  sharedFilter,
  isValidDeviceId,
  isValidSegment,
  DEFAULT_ROOT,
  DESIRED_DOMAINS,
  REPORTED_DOMAINS,
} from './topics.js';
export type {
  DesiredDomain,
  ReportedDomain,
  ParsedTopic,
  TopicKind,
  FleetStream,
} from './topics.js';
export { canonicalJson, contentHash, HASH_PATTERN } from './canonical.js';
export type { JsonValue } from './canonical.js';
export { SCHEMA_VERSION, MESSAGE_TYPES, ALERT_SEVERITIES } from './messages.js';
export type {
  DesiredState,
  KeyDelivery,
  WrappedKey,
  ReportedState,
  Status,
  Telemetry,
  TapCounters,
  DestinationCounters,
  Alert,
  AlertSeverity,
  CommandRequest,
  CommandResponse,
  CommandProgress,
  ProtocolMessage,
  MessageType,
  MessageOf,
  JsonObject,
} from './messages.js';
export { buildAppliedReport, buildDesired, buildErrorReport, buildKeyDelivery } from './build.js';
export { decodeMessage, validateMessage, encodeMessage, MAX_MESSAGE_BYTES } from './schemas.js';
export type { DecodeResult } from './schemas.js';
export { MAX_JSON_DEPTH } from './fields.js';
export { DesiredStateGate } from './desired-gate.js';
export type { AppliedVersion, GateResult, GateRejection } from './desired-gate.js';
export { ControlClient, statusMessage } from './control-client.js';
export type {
  ControlClientOptions,
  ControlLogger,
  Inbound,
  ConnectionEvent,
  CommandHandler,
  CommandContext,
  RequestOptions,
} from './control-client.js';
export type { ProtocolChoice } from './session.js';
export { CommandTimeoutError } from './commands.js';
export {
  FIRMWARE_INSTALL,
  FIRMWARE_PHASES,
  readFirmwareInstallArgs,
  readFirmwareInstallResult,
} from './firmware.js';
export type { FirmwareInstallArgs, FirmwareInstallResult, FirmwarePhase } from './firmware.js';
export type {
  MqttTransport,
  TransportFactory,
  TransportOptions,
  PublishOptions,
  PublishProperties,
  ProtocolVersion,
  SubscriptionGrant,
  TlsClientCredentials,
  WillOptions,
} from './transport.js';
export { connectMqttJs } from './mqttjs-transport.js';
