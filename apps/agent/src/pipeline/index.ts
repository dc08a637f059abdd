export { Pipeline } from './pipeline.js';
export type { PipelineOptions } from './pipeline.js';
export { MirrorSession } from './mirror-session.js';
export { PendingConfiguration } from './pending-configuration.js';
export type {
  CaptureSession,
  InterfaceSummary,
  MirrorConfig,
  MirrorSessionOptions,
  MirrorSummary,
  DestinationSummary,
  Pace,
} from './mirror-session.js';
export type { PipelineCounters, RuleCounters } from './counters.js';
export { newPipelineCounters } from './counters.js';
export { Deduplicator } from './dedup.js';
