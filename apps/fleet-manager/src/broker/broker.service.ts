// The MQTT broker the fleet talks through: either an in-process aedes
// (MQTT 3.1.1 only; the embedded default) started and stopped with the app,
// or an external broker given by URL, which we only probe for health. The
// MQTT control loop (subscriptions, desired/reported state) is built on top
// of this in a later step.
//
// With mqttTls (mqtt-acl.ts) the embedded aedes listens on mqtts:// and
// admits only clients with a fleet certificate, each to its own topics, and
// this service holds the fleet manager's own MQTT client certificate (for the
// embedded or an external broker).
import { createServer, type AddressInfo, type Server } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { TlsClientCredentials } from '@netmirror/protocol';
import { Aedes, type AedesOptions } from 'aedes';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { CERTIFICATE_AUTHORITY } from '../enrollment/certificate-authority.js';
import { CryptoCertificateAuthority } from '../enrollment/crypto-certificate-authority.js';
import { FLEET_MANAGER_IDENTITY } from './mqtt-acl.js';
import { aedesAuthHooks, createMqttTlsServer, serverHostnames } from './mqtt-tls.js';
import { probeMqtt, type ProbeResult } from './mqtt-probe.js';

export interface BrokerStatus {
  mode: 'embedded' | 'external';
  /** mqtt://host:port that agents and the control loop connect to. */
  url: string;
}

@Injectable()
export class BrokerService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Broker');
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private status: BrokerStatus | null = null;
  private tlsClient: TlsClientCredentials | undefined;

  constructor(
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * mqttTls: the fleet manager's MQTT client credentials (CN
   * FLEET_MANAGER_IDENTITY, from the fleet CA; the fleet CA as the only root
   * for the broker's certificate). undefined without mqttTls.
   */
  clientTls(): TlsClientCredentials | undefined {
    return this.tlsClient;
  }

  /**
   * The fleet CA, which every provider (enrollment's CERTIFICATE_AUTHORITY
   * factory included) has resolved before any onModuleInit runs.
   */
  private fleetCa(): CryptoCertificateAuthority {
    const ca: unknown = this.moduleRef.get(CERTIFICATE_AUTHORITY, { strict: false });
    if (!(ca instanceof CryptoCertificateAuthority))
      throw new Error(
        'mqttTls needs the fleet CA: it cannot be used with a custom certificateAuthority',
      );
    return ca;
  }

  async onModuleInit(): Promise<void> {
    const b = this.config.broker;
    const ca = this.config.mqttTls ? this.fleetCa() : null;
    if (ca) {
      const own = await ca.issueServiceClientCertificate(FLEET_MANAGER_IDENTITY);
      this.tlsClient = { ca: ca.certificatePem, cert: own.certificatePem, key: own.privateKeyPem };
    }
    if (b.kind === 'external') {
      const u = new URL(b.url);
      if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:')
        throw new Error(`broker URL "${b.url}": expected mqtt:// or mqtts://`);
      if (ca && u.protocol !== 'mqtts:')
        throw new Error(`broker URL "${b.url}": mqttTls needs an mqtts:// URL`);
      this.status = { mode: 'external', url: b.url };
      return;
    }
    let server: Server;
    let aedes: Aedes;
    if (ca) {
      const opts: AedesOptions = aedesAuthHooks(this.config.topicRoot, this.log);
      aedes = await Aedes.createBroker(opts);
      const cert = await ca.issueServerCertificate(serverHostnames(b.host));
      server = createMqttTlsServer(
        { ca: ca.certificatePem, cert: cert.certificatePem, key: cert.privateKeyPem },
        aedes,
        this.log,
      );
    } else {
      aedes = await Aedes.createBroker();
      server = createServer(aedes.handle);
    }
    try {
      await listen(server, b.port, b.host).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EADDRINUSE' || !b.fallbackToAnyPort) throw e;
        this.log.warn(`MQTT port ${b.port} is in use; the embedded broker takes any free port`);
        return listen(server, 0, b.host);
      });
    } catch (e) {
      await new Promise<void>((r) => aedes.close(() => r()));
      throw e;
    }
    this.aedes = aedes;
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const scheme = ca ? 'mqtts' : 'mqtt';
    this.status = { mode: 'embedded', url: `${scheme}://${b.host}:${port}` };
    this.log.log(`embedded MQTT broker listening on ${this.status.url}`);
  }

  info(): BrokerStatus {
    if (!this.status) throw new Error('broker not started');
    return this.status;
  }

  async check(): Promise<ProbeResult> {
    if (this.config.broker.kind === 'embedded') {
      if (!this.aedes || this.aedes.closed || !this.server?.listening)
        return { ok: false, error: 'embedded broker not running' };
    }
    const u = new URL(this.info().url);
    if (u.protocol === 'mqtts:') return { ok: true }; // TLS probing arrives with the mTLS control loop
    return probeMqtt(u.hostname, Number(u.port || 1883));
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = null;
    this.aedes = null;
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
