import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollmentError } from './enroll.js';
import { IdentityStore } from './identity-store.js';
import { BoundedFailureLog, EnrollmentAborted, enrollWithRetry } from './retry.js';

/** A TCP port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('BoundedFailureLog', () => {
  it('logs the first failure, a changed reason, and a reminder after the quiet time', () => {
    const lines: string[] = [];
    let now = 0;
    const log = new BoundedFailureLog(
      (l) => lines.push(l),
      60_000,
      () => now,
    );
    log.failed('ECONNREFUSED', 1000);
    for (let i = 0; i < 20; i++) {
      now += 1000;
      log.failed('ECONNREFUSED', 2000);
    }
    expect(lines).toEqual(['enrollment: ECONNREFUSED; retrying in 1 s']);
    now += 1000;
    log.failed('HTTP 503', 4000);
    now += 61_000;
    log.failed('HTTP 503', 4000);
    log.failed('HTTP 503', 4000);
    log.succeeded();
    expect(lines).toEqual([
      'enrollment: ECONNREFUSED; retrying in 1 s',
      'enrollment: HTTP 503; retrying in 4 s (20 more failed attempts since the last line)',
      'enrollment: HTTP 503; retrying in 4 s',
      'enrollment: succeeded after 25 attempts',
    ]);
  });
});

describe('enrollWithRetry', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-retry-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps retrying an unreachable fleet manager with one log line, writes nothing, and stops when told', async () => {
    const port = await closedPort();
    const stateDir = join(dir, 'state');
    const lines: string[] = [];
    const stop = new AbortController();
    const attempts = enrollWithRetry(
      { fleetUrl: `http://127.0.0.1:${port}`, token: 'nmt_x', agentVersion: '0.1.0' },
      new IdentityStore(stateDir),
      { signal: stop.signal, log: (l) => lines.push(l), minDelayMs: 20, maxDelayMs: 40 },
    );
    await new Promise((r) => setTimeout(r, 600));
    stop.abort();
    await expect(attempts).rejects.toBeInstanceOf(EnrollmentAborted);
    expect(lines).toEqual([
      `enrollment: GET http://127.0.0.1:${port}/ca.pem: ECONNREFUSED; retrying in 20 ms`,
    ]);
    expect(new IdentityStore(stateDir).exists()).toBe(false);
  });

  it('gives up at once on what retrying cannot fix', async () => {
    // A plain TCP server that answers every request with 410, like a used token.
    const body = JSON.stringify({
      statusCode: 410,
      message: 'enrollment token has already been used',
    });
    const server = createServer((sock) => {
      sock.on('data', () =>
        sock.end(
          'HTTP/1.1 410 Gone\r\ncontent-type: application/json\r\nconnection: close\r\n' +
            `content-length: ${body.length}\r\n\r\n${body}`,
        ),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const err = await enrollWithRetry(
        { fleetUrl: `http://127.0.0.1:${port}/`, token: 'nmt_x', agentVersion: '0.1.0' },
        new IdentityStore(join(dir, 'gone')),
        { log: () => undefined, minDelayMs: 10 },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnrollmentError);
      expect(err).toMatchObject({ retryable: false, status: 410 });
      expect((err as Error).message).toBe(
        `GET http://127.0.0.1:${port}/ca.pem: HTTP 410 Gone: enrollment token has already been used`,
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
