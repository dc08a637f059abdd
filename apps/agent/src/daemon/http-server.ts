import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderMetrics } from '@netmirror/metrics';
import type { MetricFamily } from '@netmirror/metrics';

export interface HealthSource {
  /** A JSON-able health document; `ok: false` answers 503. */
  health(): { ok: boolean } & Record<string, unknown>;
  metrics(): MetricFamily[];
}

/** `GET /health` (JSON) and `GET /metrics` (Prometheus text) for an agent. */
export async function startHttpServer(
  port: number,
  source: HealthSource,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/health') {
        const h = source.health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(h));
      } else if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(renderMetrics(source.metrics()));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: GET /health or /metrics\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
