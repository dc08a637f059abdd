// bench/fleet: the fleet manager in a process of its own, so the bench can
// read its memory from /proc. Started by run.mjs with fork(); the options come
// as JSON in argv[2], the build to run in argv[3] (a dist directory, default
// apps/fleet-manager/dist); it answers { url } over IPC once listening and
// closes on { op: 'close' } (or dies with its parent).
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const dist = resolve(process.argv[3] ?? resolve(root, 'apps/fleet-manager/dist'));
const { startFleetManager } = await import(resolve(dist, 'index.js'));

const options = JSON.parse(process.argv[2]);
const fm = await startFleetManager({ ...options, httpPort: 0, logger: ['error', 'warn'] });
process.send({ op: 'ready', url: fm.url });
process.on('message', async (m) => {
  if (m?.op !== 'close') return;
  const timer = setTimeout(() => process.exit(0), 10_000);
  timer.unref();
  await fm.close().catch(() => undefined);
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
