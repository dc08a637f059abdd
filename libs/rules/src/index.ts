export type {
  MirrorRule,
  RuleAction,
  RuleMatch,
  RuleTransforms,
  RuleSet,
  RuleError,
  PortRange,
} from './types.js';
export {
  parseRuleSet,
  validateRuleSet,
  RuleSetError,
  isDefaultDestinationName,
} from './validate.js';
export { RuleMatcher } from './matcher.js';
export type { CompiledRule } from './matcher.js';
export { BpfFilter } from './bpf-filter.js';
export { compileRulesBpf, compileRulesBpfProgram } from './classic-bpf.js';
export { bpfAnd } from './classic-bpf-combine.js';
export type { ClassicBpfOptions, ClassicBpfProgram } from './classic-bpf.js';
export { parsePrefix, prefixContains } from './address.js';
export type { Prefix } from './address.js';
export { parsePorts } from './ports.js';
export { protocolNumber, PROTO_ARP } from './protocols.js';
export { parseDestination, DestinationError, DEFAULT_RECORD_FILE_BYTES } from './destination.js';
export type { Destination, NetworkOptions } from './destination.js';
export { validateRetention, MIN_RECORD_FILE_BYTES } from './retention.js';
export type { RetentionSpec } from './retention.js';
export { compileRulesTcam, rangePrefixes, TcamCompileError } from './tcam.js';
export type { TcamEntry, TcamField, TcamProgram, TcamTarget, Ternary } from './tcam.js';
