// A ByteTransport over a serial device (or a pty) through `serialport`:
// raw 8N1 bytes, no flow control, no line discipline.
import type { SerialPort } from 'serialport';
import { getSystemErrorMap } from 'node:util';
import { CloseSignal, Listeners, type ByteTransport } from './transport.js';

/**
 * Opens `path` at `baudRate`. Rejects with an Error saying which port and
 * why, e.g. "serial port /dev/ttyUSB9: ENOENT no such file or directory".
 */
export async function openSerialTransport(path: string, baudRate: number): Promise<ByteTransport> {
  // Loaded on first use: importing this package (e.g. for the protocol's
  // codecs, in the fleet manager) does not load serialport's native binding.
  const { SerialPort: Port } = await import('serialport');
  const port = new Port({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(openError(path, err)) : resolve()));
  });
  return new SerialTransport(port);
}

/**
 * serialport's open errors read "Error: No such file or directory, cannot
 * open /dev/x" and carry no code: find the code from the C library's text.
 */
function openError(path: string, err: Error): Error {
  const text = err.message.replace(/^Error: /, '').replace(/, cannot open .*$/, '');
  const code = (err as NodeJS.ErrnoException).code ?? errnoName(text);
  const detail = text.toLowerCase();
  const error = new Error(`serial port ${path}: ${code ? code + ' ' : ''}${detail}`, {
    cause: err,
  });
  return Object.assign(error, { code });
}

function errnoName(message: string): string | undefined {
  const text = message.toLowerCase();
  for (const [name, description] of getSystemErrorMap().values()) {
    if (text.startsWith(description.toLowerCase())) return name;
  }
  return undefined;
}

class SerialTransport implements ByteTransport {
  private readonly data = new Listeners<[Buffer]>();
  private readonly closed = new CloseSignal();
  private closing: Promise<void> | undefined;

  constructor(private readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => this.data.emit(chunk));
    // 'close' carries an error when the device went away (a pty's far end, a USB unplug).
    port.on('close', (err?: Error) => this.closed.fire(err ?? undefined));
    port.on('error', (err: Error) => {
      this.closed.fire(err);
      void this.close();
    });
  }

  write(data: Buffer): void {
    if (this.closed.closed || !this.port.isOpen) return;
    this.port.write(data);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.data.add(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    this.closed.add(cb);
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.port.isOpen) {
        this.closed.fire();
        resolve();
        return;
      }
      this.port.close(() => {
        this.closed.fire();
        resolve();
      });
    });
    return this.closing;
  }
}
