import { existsSync } from 'node:fs';
import { FpgaTapSession, parseFpgaSource } from './hardware/index.js';
import { TcOffloadSession } from './offload/index.js';
import { MirrorSession } from './pipeline/index.js';
import type { CaptureSession, MirrorSessionOptions } from './pipeline/index.js';
import { openTaps } from './taps/index.js';

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
  const hardware = uris.filter((u) => u.startsWith('fpga:'));
  if (hardware.length > 0) {
    if (uris.length > 1)
      throw new Error(
        `${hardware[0]}: a hardware tap runs alone (one per agent), not with ${uris.join(', ')}`,
      );
    if (options.pace) throw new Error(`--from ${hardware[0]}: a live source cannot be paced`);
    return new FpgaTapSession(parseFpgaSource(hardware[0]), options);
  }
  const offloaded = uris.filter((u) => u.startsWith('tc:'));
  if (offloaded.length === 0) return new MirrorSession({ ...options, tap: openTaps(uris) });
  if (uris.length > 1)
    throw new Error(
      `${offloaded[0]}: a tc: source runs alone (one per agent), not with ${uris.join(', ')}`,
    );
  const ifname = offloaded[0].slice(3);
  if (!/^[^\s/:?]{1,15}$/.test(ifname))
    throw new Error(`--from ${offloaded[0]}: missing or invalid interface name (tc:IFACE)`);
  if (options.pace) throw new Error(`--from ${offloaded[0]}: a live source cannot be paced`);
  if (!existsSync(`/sys/class/net/${ifname}`))
    throw new Error(`--from ${offloaded[0]}: there is no interface ${ifname}`);
  return new TcOffloadSession(offloaded[0], ifname, options);
}
