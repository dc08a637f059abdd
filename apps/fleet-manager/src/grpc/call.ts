// Adapts an async handler to grpc-js: the actor comes from the request
// metadata (x-netmirror-actor, read exactly as the REST header is), and what
// the handler throws becomes a gRPC status (errors.ts).
import {
  status,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { ACTOR_METADATA_KEY } from '@netmirror/fleet-api';
import { actorFromValue } from '../common/actor.js';
import { grpcError, toGrpcError } from './errors.js';

export interface CallContext {
  /** e.g. "operator:alice", or "operator:anonymous" when the metadata names no one. */
  actor: string;
}

const log = new Logger('Grpc');

export function unary<Req, Res>(
  handler: (request: Req, ctx: CallContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const ctx: CallContext = { actor: actorFromValue(call.metadata.get(ACTOR_METADATA_KEY)) };
    let pending: Promise<Res>;
    try {
      pending = handler(call.request, ctx);
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (response) => callback(null, response),
      (e: unknown) => {
        const err = toGrpcError(e);
        if (err.code === status.INTERNAL)
          log.error(
            `${call.getPath()}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
          );
        callback(err, null);
      },
    );
  };
}

/** For an RPC whose service does not exist yet: UNIMPLEMENTED, naming what is missing. */
export function unimplemented<Req, Res>(missing: string): handleUnaryCall<Req, Res> {
  return (_call, callback) =>
    callback(grpcError(status.UNIMPLEMENTED, `not implemented yet: needs ${missing}`), null);
}
