// @netmirror/usb-tap/testing: a NetMirror USB tap and a USB bus as models
// behind node-usb's Device/Interface/Endpoint surface, for tests (this
// machine has no USB bus). Not part of the driver's API.
export { UsbTapModel } from './tap-model.js';
export type {
  UsbTapModelOptions,
  FrameFate,
  FrameOptions,
  ControlReply,
  ModelBusHooks,
} from './tap-model.js';
export { ModelUsbBus } from './model-bus.js';
export { ModelUsbDevice, ModelInterface } from './model-device.js';
export { ModelInEndpoint } from './model-endpoint.js';
export type { ModelTransfer } from './model-endpoint.js';
export { ModelUsbException } from './usb-exception.js';
export { replayCapture } from './replay.js';
export type { ReplayOptions, ReplayResult } from './replay.js';
