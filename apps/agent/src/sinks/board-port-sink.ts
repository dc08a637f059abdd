import type { FrameCopy, SourceInterface } from './sink.js';
import { Sink } from './sink.js';

/**
 * `board:PORT`: a monitor port of an FPGA tap board. The board makes those
 * copies in hardware (the fpga: source programs it), so nothing is ever
 * queued here; a software source naming it fails to open, saying why.
 */
export class BoardPortSink extends Sink {
  constructor(
    name: string,
    uri: string,
    readonly port: string,
  ) {
    super(name, uri, { queueBytes: 64 << 10, queueMessages: 1 });
  }

  async open(_interfaces: readonly SourceInterface[]): Promise<void> {
    throw new Error(
      `${this.uri} is a monitor port of an FPGA tap board: only an fpga: source copies there`,
    );
  }

  protected maxEncodedLength(_f: FrameCopy): number {
    return -1;
  }

  protected encode(): number {
    return 0;
  }

  protected drain(): void {}

  protected async release(): Promise<void> {}
}
