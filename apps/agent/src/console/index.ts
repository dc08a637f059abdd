export { ConsoleService } from './console-service.js';
export type { ConsoleAppliance } from './console-service.js';
export { encodeLine, LineSplitter, MAX_LINE, parseLine } from './console-lines.js';
export type { JsonObject } from './console-lines.js';
export { checkSettings, SettingsStore } from './provisioning-settings.js';
export type { NetworkSettings, ProvisioningSettings } from './provisioning-settings.js';
export { AgentAppliance } from './agent-appliance.js';
export type { AgentApplianceHooks } from './agent-appliance.js';
