// The MQTT broker the fleet talks through: either an in-process aedes
// (MQTT 3.1.1 only; the embedded default) started and stopped with the app,
// or an external broker given by URL, which we only probe for health. The
// MQTT control loop (subscriptions, desired/reported state) is built on top
// of this in a later step.
import { createServer, type AddressInfo, type Server } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Aedes } from 'aedes';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
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

  constructor(@Inject(FLEET_CONFIG) private readonly config: FleetConfig) {}

  async onModuleInit(): Promise<void> {
    const b = this.config.broker;
    if (b.kind === 'external') {
      const u = new URL(b.url);
      if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:')
        throw new Error(`broker URL "${b.url}": expected mqtt:// or mqtts://`);
      this.status = { mode: 'external', url: b.url };
      return;
    }
    const aedes = await Aedes.createBroker();
    const server = createServer(aedes.handle);
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
    this.status = { mode: 'embedded', url: `mqtt://${b.host}:${port}` };
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
