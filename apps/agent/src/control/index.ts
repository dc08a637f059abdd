export { MqttControlChannel } from './mqtt-channel.js';
export type { MqttChannelOptions } from './mqtt-channel.js';
