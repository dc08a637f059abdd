// How a request fails, as one error type the caller can switch on.

/**
 * - timeout: no response after every attempt
 * - status: the board answered with a status other than OK (`status` says which)
 * - reset: the board reset (RESET event or a new bootId) before answering
 * - closed: the link was closed, or its transport went away
 * - protocol: the board's answer does not fit the request (wrong length, version)
 */
export type LinkErrorCode = 'timeout' | 'status' | 'reset' | 'closed' | 'protocol';

export class LinkError extends Error {
  override readonly name = 'LinkError';

  constructor(
    message: string,
    readonly code: LinkErrorCode,
    /** The request's op code. */
    readonly op: number,
    /** The board's status byte, when code is 'status'. */
    readonly status?: number,
  ) {
    super(message);
  }
}
