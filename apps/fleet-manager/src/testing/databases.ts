// Real databases for tests: a temp SQLite file, or a fresh PostgreSQL
// database per run (CREATE DATABASE nm_test_<random>, dropped afterwards).
// NM_TEST_PG_URL points at an existing database used only to create/drop ours.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { FleetManagerOptions } from '../main.js';

export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

export function sqliteTestDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'nm-fleet-'));
  return {
    kind: 'sqlite',
    url: `sqlite:${join(dir, 'fleet.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const adminPostgresUrl =
  process.env.NM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresTestDatabase(): Promise<TestDatabase> {
  const name = `nm_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminPostgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminPostgresUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminPostgresUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The two stacks every control-plane suite runs on: the embedded defaults and production. */
export interface TestStack {
  name: string;
  db: () => Promise<TestDatabase>;
  /** Broker options for startFleetManager. */
  broker: Pick<FleetManagerOptions, 'embeddedBrokerPort' | 'brokerUrl'>;
}

export const TEST_STACKS: TestStack[] = [
  {
    name: 'SQLite + embedded aedes',
    db: async () => sqliteTestDatabase(),
    broker: { embeddedBrokerPort: 0 },
  },
  {
    name: 'PostgreSQL + Mosquitto',
    db: postgresTestDatabase,
    broker: { brokerUrl: 'mqtt://127.0.0.1:1883' },
  },
];
