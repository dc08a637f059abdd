export { writeFileAtomic } from './atomic-file.js';
export {
  CA_FINGERPRINT_HEADER,
  enrollDevice,
  EnrollmentError,
  newEnrollmentCandidate,
} from './enroll.js';
export type { EnrollmentCandidate, EnrollmentRequest } from './enroll.js';
export {
  IDENTITY_FILES,
  IdentityDamagedError,
  IdentityStore,
  identityProblem,
} from './identity-store.js';
export type { DeviceIdentity } from './identity-store.js';
export { BoundedFailureLog, EnrollmentAborted, enrollWithRetry } from './retry.js';
export type { RetryOptions } from './retry.js';
