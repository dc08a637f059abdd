export { AgentDaemon } from './agent-daemon.js';
export type { ControlChannel, DaemonIdentity, DaemonOptions } from './agent-daemon.js';
export { loadAgentConfig, checkAgentConfig, tapUris } from './config.js';
export type { AgentConfig } from './config.js';
