// Errors a caller is expected to handle. Everything else (a programming
// mistake: a wrong argument type, a malformed device id) is a TypeError.

/** The fleet manager refused a certificate signing request; `message` says why. */
export class CsrRejectedError extends Error {
  override name = 'CsrRejectedError';
}

export type UnwrapFailure =
  /** Not a wrapped key of ours: wrong shape, unknown alg, bad base64, wrong lengths. */
  | 'malformed'
  /** Authentication failed: wrong device key, other deviceId/keyId, or a changed byte. */
  | 'unauthentic';

/** A wrapped data key could not be unwrapped. Never carries key material. */
export class KeyUnwrapError extends Error {
  override name = 'KeyUnwrapError';
  constructor(
    readonly reason: UnwrapFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The key ring has no key usable for the request. */
export class NoUsableKeyError extends Error {
  override name = 'NoUsableKeyError';
}
