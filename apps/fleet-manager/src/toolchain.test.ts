// Canary for the decorator toolchain (see README "DI and decorators"): vitest
// (vite 8 / oxc) must emit legacy decorators and design:* metadata for source
// files, as tsc does for the build. Test files themselves get no decorator
// transform (they are outside tsconfig.json's include), so decorated classes
// never live in *.test.ts.
import { describe, expect, it } from 'vitest';
import { AuditService } from './audit/audit.service.js';
import { DevicesController } from './devices/devices.controller.js';
import { DevicesService } from './devices/devices.service.js';

describe('toolchain', () => {
  it('emits constructor parameter metadata for source files', () => {
    expect(Reflect.getMetadata('design:paramtypes', DevicesController)).toEqual([DevicesService]);
    expect(Reflect.getMetadata('design:paramtypes', AuditService)).toHaveLength(1);
  });
});
