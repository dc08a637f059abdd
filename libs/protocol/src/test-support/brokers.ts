// Real brokers for the tests: an in-process aedes (MQTT 3.1.1 only) on a free
// port, and the Mosquitto already running on 127.0.0.1:1883 (MQTT 5).
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { TopicTree } from '../topics.js';
import type { ControlLogger } from '../control-client.js';

export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

export async function startAedes(): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    aedes.handle(sock);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A topic tree under a root no other run shares. */
export function uniqueTree(label: string): TopicTree {
  return new TopicTree(`nmtest/${label}-${randomBytes(6).toString('hex')}/v1`);
}

export function uniqueId(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** A logger that keeps its lines for assertions instead of printing them. */
export function captureLogger(): ControlLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) };
}

/** Resolve when `predicate` holds, polling; reject after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
