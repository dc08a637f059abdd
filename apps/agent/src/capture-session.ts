import { existsSync } from 'node:fs';
import { FpgaTapSession, parseFpgaSource } from './hardware/index.js';
import { TcOffloadSession } from './offload/index.js';
import { MirrorSession } from './pipeline/index.js';
import type { CaptureSession, MirrorSessionOptions } from './pipeline/index.js';
import { openTaps } from './taps/index.js';

/** What a source whose copies never pass through the pipeline is called, by its URI's prefix. */
const OWN_SESSIONS: Record<string, string> = { 'tc:': 'a tc: source', 'fpga:': 'a hardware tap' };

/** Whether `uri` is a source with a session of its own (tc offload, a hardware tap), not a tap. */
export function hasOwnSession(uri: string): boolean {
  return Object.keys(OWN_SESSIONS).some((prefix) => uri.startsWith(prefix));
}

/**
 * The session for a set of capture sources: the user-space pipeline over
 * the taps, or, for `tc:IFACE`, the kernel offload, or, for `fpga:PORT`, a
 * hardware tap board (each alone: their copies never pass through the
 * pipeline).
 */
export function openCaptureSession(
  uris: readonly string[],
  options: Omit<MirrorSessionOptions, 'tap'>,
): CaptureSession {
  const own = uris.find(hasOwnSession);
  if (own === undefined) return new MirrorSession({ ...options, tap: openTaps(uris) });
  const prefix = own.slice(0, own.indexOf(':') + 1);
  if (uris.length > 1)
    throw new Error(
      `${own}: ${OWN_SESSIONS[prefix]} runs alone (one per agent), not with ${uris.join(', ')}`,
    );
  if (options.pace) throw new Error(`--from ${own}: a live source cannot be paced`);
  if (prefix === 'fpga:') return new FpgaTapSession(parseFpgaSource(own), options);
  const ifname = own.slice(3);
  if (!/^[^\s/:?]{1,15}$/.test(ifname))
    throw new Error(`--from ${own}: missing or invalid interface name (tc:IFACE)`);
  if (!existsSync(`/sys/class/net/${ifname}`))
    throw new Error(`--from ${own}: there is no interface ${ifname}`);
  return new TcOffloadSession(own, ifname, options);
}
