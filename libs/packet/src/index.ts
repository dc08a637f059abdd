export { FrameBatch } from './frame-batch.js';
export { LinkType, EtherType, IpProto } from './link-type.js';
export { hex } from './hex.js';
