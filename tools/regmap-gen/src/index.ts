export { generateBindings } from './generate.js';
export { parseAddress, validateSpec } from './spec.js';
export type {
  Access,
  CounterBlockSpec,
  FieldSpec,
  RegisterSpec,
  RegmapSpec,
  StructSpec,
  TableSpec,
} from './spec.js';
export { bindingsFor, DEFAULT_OUT, DEFAULT_SPEC, main } from './cli.js';
