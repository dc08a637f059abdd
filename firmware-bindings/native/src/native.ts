// Loads the compiled addon. The path is relative to this file, which works
// both from src/ (vitest) and from dist/ (after `tsc -b`): both sit beside build/.
import { createRequire } from 'node:module';

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
  readonly sendBatchMax: number;
}

const require = createRequire(import.meta.url);
const addonPath = '../build/Release/netmirror_native.node';

function load(): NativeBinding {
  try {
    return require(addonPath) as NativeBinding;
  } catch (err) {
    throw new Error(
      `@netmirror/native: cannot load ${addonPath} (run \`npx node-gyp rebuild\` in firmware-bindings/native): ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
}

export const native: NativeBinding = load();
