// startFleetManager(): the one way to run the service, used by the tests and
// by the future `netmirror fleet` CLI.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DEFAULT_ROOT } from '@netmirror/protocol';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { AppModule } from './app.module.js';
import type { BrokerConfig, FleetCaConfig, FleetConfig } from './config.js';
import { BrokerService } from './broker/broker.service.js';
import { listeningUrl } from './common/listening-url.js';
import type { CertificateAuthority } from './enrollment/certificate-authority.js';
import { DEFAULT_DEVICE_CERTIFICATE_VALID_DAYS } from './enrollment/crypto-certificate-authority.js';
import { MetricsService } from './health/metrics.service.js';
import { GrpcServer } from './grpc/grpc.server.js';
import { setupOpenApi } from './openapi.js';

export interface FleetManagerOptions {
  /** sqlite:PATH, sqlite::memory: or postgres://user@host:port/db */
  databaseUrl: string;
  /** An external broker, e.g. mqtt://127.0.0.1:1883. If absent, an embedded aedes broker runs. */
  brokerUrl?: string;
  /** Port of the embedded broker; 0 = any free port. Default: 1883 if free, else any free port. */
  embeddedBrokerPort?: number;
  /** Default 127.0.0.1. */
  embeddedBrokerHost?: string;
  /** Default 8080; 0 = any free port. */
  httpPort?: number;
  /** Default 127.0.0.1. */
  httpHost?: string;
  /**
   * Replaces the fleet CA: signs device certificates at enrollment. Default: the
   * libs/crypto CA kept in the database, created on first start.
   */
  certificateAuthority?: CertificateAuthority;
  /** The fleet CA created on first start (no effect once it exists). */
  ca?: Partial<FleetCaConfig>;
  /** Nest log levels; false = silent. Default: error, warn, log. */
  logger?: false | LogLevel[];
  /** Wall clock (tests). */
  now?: () => Date;
  /** Unique per replica on one broker; default a random id. */
  replicaId?: string;
  /** MQTT topic root; default netmirror/v1. */
  topicRoot?: string;
  /** Shared-subscription group of the replicas; default netmirror-fleet. */
  shareGroup?: string;
  /**
   * Mutual TLS on MQTT. The embedded broker then listens on mqtts:// with a
   * server certificate (127.0.0.1, localhost) from the fleet CA, requires a
   * client certificate from the fleet CA, and confines each device to its own
   * topics; `POST /enroll` names the mqtts:// URL. With brokerUrl
   * (mqtts://), the fleet manager presents its own certificate (CN
   * `netmirror:fleet-manager`, from the fleet CA) to that broker. Default false.
   */
  mqttTls?: boolean;
  /** Port of the gRPC API (FleetService); 0 = any free port. Default: no gRPC server. */
  grpcPort?: number;
  /** Default 127.0.0.1. */
  grpcHost?: string;
  /**
   * Base URL devices reach the REST API at, for firmware downloads (behind
   * NAT or a proxy). Default: the scheme and Host of the request that starts
   * an update.
   */
  publicUrl?: string;
}

export interface FleetManagerHandle {
  /** Base URL of the REST API, e.g. http://127.0.0.1:8080 */
  url: string;
  httpPort: number;
  broker: { mode: 'embedded' | 'external'; url: string };
  /** host:port of the gRPC API, e.g. 127.0.0.1:50051; null without grpcPort. */
  grpcUrl: string | null;
  close(): Promise<void>;
}

interface RoutedRequest extends IncomingMessage {
  route?: { path?: string };
}

/** An http(s) base URL, without a trailing slash. */
function checkPublicUrl(url: string): string {
  if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(url))
    throw new Error(`publicUrl "${url}": expected http(s)://HOST[:PORT][/PATH]`);
  return url.replace(/\/+$/, '');
}

function brokerConfig(o: FleetManagerOptions): BrokerConfig {
  if (o.brokerUrl !== undefined) {
    if (o.embeddedBrokerPort !== undefined)
      throw new Error('give brokerUrl or embeddedBrokerPort, not both');
    return { kind: 'external', url: o.brokerUrl };
  }
  const host = o.embeddedBrokerHost ?? '127.0.0.1';
  return o.embeddedBrokerPort === undefined
    ? { kind: 'embedded', host, port: 1883, fallbackToAnyPort: true }
    : { kind: 'embedded', host, port: o.embeddedBrokerPort, fallbackToAnyPort: false };
}

export async function startFleetManager(options: FleetManagerOptions): Promise<FleetManagerHandle> {
  const config: FleetConfig = {
    databaseUrl: options.databaseUrl,
    broker: brokerConfig(options),
    certificateAuthority: options.certificateAuthority ?? null,
    ca: {
      commonName: options.ca?.commonName ?? 'NetMirror Fleet CA',
      validDays: options.ca?.validDays ?? 3650,
      deviceCertificateValidDays:
        options.ca?.deviceCertificateValidDays ?? DEFAULT_DEVICE_CERTIFICATE_VALID_DAYS,
    },
    now: options.now ?? ((): Date => new Date()),
    replicaId: options.replicaId ?? randomBytes(4).toString('hex'),
    topicRoot: options.topicRoot ?? DEFAULT_ROOT,
    shareGroup: options.shareGroup ?? 'netmirror-fleet',
    mqttTls: options.mqttTls ?? false,
    grpc:
      options.grpcPort === undefined
        ? null
        : { host: options.grpcHost ?? '127.0.0.1', port: options.grpcPort },
    ...(options.publicUrl !== undefined ? { publicUrl: checkPublicUrl(options.publicUrl) } : {}),
  };
  const app: INestApplication = await NestFactory.create(AppModule.forRoot(config), {
    logger: options.logger ?? ['error', 'warn', 'log'],
    abortOnError: false, // report a bad URL or a busy port as a rejected promise, not process.exit
  });
  try {
    const metrics = app.get(MetricsService);
    app.use((req: RoutedRequest, res: ServerResponse, next: () => void) => {
      res.on('finish', () =>
        metrics.countHttp(req.method ?? 'GET', req.route?.path ?? 'unmatched', res.statusCode),
      );
      next();
    });
    setupOpenApi(app);
    await app.listen(options.httpPort ?? 8080, options.httpHost ?? '127.0.0.1');
  } catch (e) {
    await app.close();
    throw e;
  }
  const server = app.getHttpServer() as Server;
  const broker = app.get(BrokerService).info();
  return {
    url: listeningUrl(server)!,
    httpPort: (server.address() as AddressInfo).port,
    broker,
    grpcUrl: app.get(GrpcServer).url(),
    close: () => app.close(),
  };
}
