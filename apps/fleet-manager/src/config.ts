// Resolved configuration, provided to every module under FLEET_CONFIG.
import type { CertificateAuthority } from './enrollment/certificate-authority.js';

export const FLEET_CONFIG = Symbol('FLEET_CONFIG');

export type BrokerConfig =
  /**
   * In-process aedes (MQTT 3.1.1) listening on host:port; port 0 = any free
   * port. With fallbackToAnyPort, a port already in use (1883 taken by a
   * system Mosquitto, say) falls back to any free port instead of failing.
   */
  | { kind: 'embedded'; host: string; port: number; fallbackToAnyPort: boolean }
  /** An external broker (Mosquitto, EMQX, ...), e.g. mqtt://127.0.0.1:1883. */
  | { kind: 'external'; url: string };

export interface FleetCaConfig {
  /** Subject CN of the CA certificate. */
  commonName: string;
  /** Lifetime of the CA certificate; device certificates never outlive it. */
  validDays: number;
  /** Lifetime of each device certificate. */
  deviceCertificateValidDays: number;
}

export interface FleetConfig {
  databaseUrl: string;
  broker: BrokerConfig;
  /**
   * Signs device certificates at enrollment. null = the fleet CA kept in the
   * database (created on first start with `ca`).
   */
  certificateAuthority: CertificateAuthority | null;
  /** The fleet CA created on first start (ignored once it exists, or with certificateAuthority). */
  ca: FleetCaConfig;
  /** Wall clock; replaceable so tests can expire tokens without sleeping. */
  now: () => Date;
  /** This replica's name, unique among the replicas sharing a broker (MQTT client id `fleet-{replicaId}`). */
  replicaId: string;
  /** Root of the MQTT topic tree (default netmirror/v1). */
  topicRoot: string;
  /** MQTT 5 shared-subscription group the replicas split device traffic in. */
  shareGroup: string;
  /**
   * Mutual TLS on MQTT (broker/mqtt-tls.ts): the embedded broker listens on
   * mqtts:// with a server certificate from the fleet CA and admits only
   * clients with a fleet certificate, each to its own topics; the fleet
   * manager's own session presents a certificate from the fleet CA (to an
   * external broker too). Needs the fleet CA (not a custom certificateAuthority).
   */
  mqttTls: boolean;
  /** The gRPC API (grpc/): where it listens, port 0 = any free port; null = not served. */
  grpc: { host: string; port: number } | null;
  /**
   * Base URL devices reach the REST API at (firmware downloads), e.g.
   * http://fleet.example:8080. Unset: the scheme and Host of the operator's
   * request that started the update.
   */
  publicUrl?: string;
}
