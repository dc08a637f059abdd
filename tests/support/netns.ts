/**
 * A throwaway network namespace with only `lo` up (IPv6 off, so nothing but
 * our own traffic crosses it), named uniquely per run and deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { run } from './run.js';

export interface Netns {
  name: string;
  remove(): Promise<void>;
}

export async function createNetns(prefix: string): Promise<Netns> {
  const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const must = async (args: string[]): Promise<void> => {
    const r = await run('ip', args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  };
  await must(['netns', 'add', name]);
  const ns = {
    name,
    remove: async () => {
      await run('ip', ['netns', 'del', name], { timeoutMs: 10_000 });
    },
  };
  try {
    await must([
      'netns',
      'exec',
      name,
      'sysctl',
      '-q',
      '-w',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
    await must(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await ns.remove();
    throw e;
  }
  return ns;
}
