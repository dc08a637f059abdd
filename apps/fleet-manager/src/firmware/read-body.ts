// The raw body of an upload. Nest's body parsers take JSON and forms only,
// so an application/octet-stream body is still unread here; it is read with
// a bound, and refused as soon as it passes it.
import {
  BadRequestException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

export async function readOctetStream(req: IncomingMessage, max: number): Promise<Buffer> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/octet-stream')
    throw new UnsupportedMediaTypeException(
      `send the image as application/octet-stream (got ${type || 'no content type'})`,
    );
  const tooLarge = (): PayloadTooLargeException => imageTooLarge(max);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) throw new BadRequestException('empty body: send the image');
  return Buffer.concat(chunks, size);
}

/** 413 for an image past the limit (REST's body, gRPC's UploadFirmware: the same words). */
export function imageTooLarge(max: number): PayloadTooLargeException {
  return new PayloadTooLargeException(`an image is at most ${max} bytes`);
}
