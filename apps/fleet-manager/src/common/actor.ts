// Who is acting. There is no authentication yet (RBAC comes with its own
// module); until then an operator may name themselves in X-NetMirror-Actor,
// and the audit log records that name, or "anonymous".
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

export const ACTOR_HEADER = 'x-netmirror-actor';

export function actorFrom(req: IncomingMessage): string {
  return actorFromValue(req.headers[ACTOR_HEADER]);
}

/** The actor named by a header (or gRPC metadata) value; the first one if repeated. */
export function actorFromValue(raw: unknown): string {
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (typeof v === 'string' && /^[\w.@:-]{1,100}$/.test(v)) return `operator:${v}`;
  return 'operator:anonymous';
}

export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): string =>
  actorFrom(ctx.switchToHttp().getRequest<IncomingMessage>()),
);
