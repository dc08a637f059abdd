// Nest's HTTP exceptions, which the services throw, as gRPC statuses: the
// REST status picks the code, the REST message becomes the details, and a
// validation error's field travels in trailing metadata (x-netmirror-field)
// as well as at the start of the message ("ttlSeconds: must be ..."); a
// body's machine-readable `reason` (a refused firmware image's) travels in
// x-netmirror-reason.
import { Metadata, status, type ServerErrorResponse } from '@grpc/grpc-js';
import { HttpException } from '@nestjs/common';
import { FIELD_METADATA_KEY, REASON_METADATA_KEY } from '@netmirror/fleet-api';

const BY_HTTP_STATUS: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  409: status.ALREADY_EXISTS,
  410: status.FAILED_PRECONDITION,
  412: status.FAILED_PRECONDITION,
  413: status.RESOURCE_EXHAUSTED, // what grpc-js itself answers to a message over its limit
  429: status.RESOURCE_EXHAUSTED,
  501: status.UNIMPLEMENTED,
  503: status.UNAVAILABLE,
  504: status.DEADLINE_EXCEEDED,
};

export function grpcCodeOf(httpStatus: number): status {
  return (
    BY_HTTP_STATUS[httpStatus] ??
    (httpStatus >= 400 && httpStatus < 500 ? status.FAILED_PRECONDITION : status.INTERNAL)
  );
}

/** The gRPC error for anything a handler threw. */
export function toGrpcError(e: unknown): ServerErrorResponse {
  if (e instanceof HttpException) {
    const body = e.getResponse();
    let message = e.message;
    let field: string | undefined;
    let reason: string | undefined;
    if (typeof body === 'object' && body !== null) {
      const b = body as { message?: unknown; field?: unknown; reason?: unknown };
      if (typeof b.message === 'string') message = b.message;
      else if (Array.isArray(b.message)) message = b.message.join('; ');
      if (typeof b.field === 'string') field = b.field;
      if (typeof b.reason === 'string') reason = b.reason;
    } else if (typeof body === 'string') message = body;
    const metadata = new Metadata();
    if (field !== undefined) metadata.set(FIELD_METADATA_KEY, field);
    if (reason !== undefined) metadata.set(REASON_METADATA_KEY, reason);
    return grpcError(grpcCodeOf(e.getStatus()), message, metadata);
  }
  return grpcError(status.INTERNAL, e instanceof Error ? e.message : String(e));
}

export function grpcError(
  code: status,
  details: string,
  metadata = new Metadata(),
): ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, metadata });
}
