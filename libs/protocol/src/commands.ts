// Pieces of the command exchange that need no broker: deciding whether a
// received command may run, and remembering recent correlation ids so a QoS 1
// redelivery does not run a command twice.
import type { CommandRequest } from './messages.js';
import type { TopicTree } from './topics.js';

export class CommandTimeoutError extends Error {
  constructor(
    readonly deviceId: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`command ${command} to ${deviceId}: no response within ${timeoutMs} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/** Why a received command must not run, or null if it may. */
export function commandRefusal(
  cmd: CommandRequest,
  deviceId: string,
  tree: TopicTree,
  now: number,
): string | null {
  const rt = tree.parse(cmd.responseTopic);
  if (!rt || rt.kind !== 'response' || rt.deviceId !== deviceId) {
    return `command ${cmd.name} (${cmd.correlationId}): response topic ${JSON.stringify(cmd.responseTopic)} is not a response topic of ${deviceId}`;
  }
  if (now >= cmd.expiresAt) {
    return `command ${cmd.name} (${cmd.correlationId}) expired ${now - cmd.expiresAt} ms ago; not executed`;
  }
  return null;
}

/** A bounded set of recently seen ids (oldest forgotten first). */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 1024) {}

  /** True if `id` was seen before; remembers it either way. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return false;
  }
}
