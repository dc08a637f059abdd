// Loads the compiled addon. The path is relative to this file, which works
// both from src/ (vitest) and from dist/ (after `tsc -b`): both sit beside build/.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's raw exports. Every function checks its own arguments in C++. */
export interface NativeBinding {
  compileBpf(expression: string, linkType: number, snapLen: number, optimize: boolean): Buffer;
  validateBpf(program: Uint8Array): boolean;
  bpfFilterBatch(
    program: Uint8Array,
    buf: Uint8Array,
    offsets: Int32Array,
    caplens: Int32Array,
    wirelens: Int32Array,
    count: number,
    out: Uint8Array,
  ): number;
  bpfToText(program: Uint8Array): string;
  openUdpSocket(family: number, sndbuf: number): number;
  openRawIpSocket(family: number, protocol: number): number;
  closeSocket(fd: number): void;
  makeSockaddr(address: string, port: number): Buffer;
  sendBatch(
    fd: number,
    sockaddr: Uint8Array,
    buf: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    start: number,
    count: number,
  ): number;
  attachSocketFilter(fd: number, program: Uint8Array): void;
  setSocketOption(fd: number, level: number, name: number, value: number): void;
  copyBatch(
    src: Uint8Array,
    srcOffsets: Int32Array,
    dst: Uint8Array,
    dstOffsets: Int32Array,
    lengths: Int32Array,
    count: number,
  ): void;
  sendBatchAsync(
    fd: number,
    sockaddr: Uint8Array,
    buf: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    start: number,
    count: number,
    done: (sent: number, errno: number) => void,
  ): void;
  readonly sendBatchMax: number;
  openPacketRing(
    ifname: string,
    blockSize: number,
    blockCount: number,
    frameSize: number,
    timeoutMs: number,
    fanoutGroup: number,
    fanoutMode: number,
    promiscuous: boolean,
  ): number;
  nextBlock(
    handle: number,
    timeoutMs: number,
  ): { view: Buffer; packets: number; seq: number; firstOffset: number } | null;
  releaseBlock(handle: number): void;
  packetStats(handle: number): { packets: number; drops: number; freezeQueueCount: number };
  closeRing(handle: number): void;
  openPacketSendSocket(ifname: string, sndbuf: number): { fd: number; sockaddr: Buffer };
  pollRing(handle: number, callback: () => void): void;
  ringBacklog(handle: number): number;
  setRingFilter(handle: number, program: Uint8Array | null): void;
  compileBpfLive(expression: string, ifname: string, snapLen: number): Buffer;
  openXsk(
    ifname: string,
    queue: number,
    frameCount: number,
    frameSize: number,
    mode: number,
    zeroCopy: boolean,
  ): { handle: number; umem: Buffer; staleProgramId: number };
  xskReceive(
    handle: number,
    addrs: Int32Array,
    lens: Int32Array,
    max: number,
    stamp?: Float64Array,
  ): number;
  xskRelease(handle: number): number;
  xskBacklog(handle: number): number;
  xskStats(handle: number): {
    rxDropped: number;
    rxInvalid: number;
    rxRingFull: number;
    fillRingEmpty: number;
  };
  pollXsk(handle: number, callback: () => void): void;
  closeXsk(handle: number): void;
  readonly XDP_PACKET_HEADROOM: number;
}

const require = createRequire(import.meta.url);
const ADDON = 'build/Release/netmirror_native.node';

/**
 * Where the addon may be: beside this module's package (src/ or dist/), or,
 * when this code is bundled into an app, wherever the package resolves.
 */
function candidates(): string[] {
  const paths = [fileURLToPath(new URL(`../${ADDON}`, import.meta.url))];
  try {
    paths.push(join(dirname(require.resolve('@netmirror/native/package.json')), ADDON));
  } catch {
    // not resolvable from here: the first path is the only one
  }
  return paths;
}

function load(): NativeBinding {
  const paths = candidates();
  for (const path of paths) if (existsSync(path)) return require(path) as NativeBinding;
  throw new Error(
    `@netmirror/native: the addon is not built (looked in ${paths.join(', ')}); run \`npx node-gyp rebuild\` in firmware-bindings/native`,
  );
}

export const native: NativeBinding = load();
