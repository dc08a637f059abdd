import { describe, expect, it } from 'vitest';
import { formatPrometheus } from './prometheus.js';

describe('formatPrometheus', () => {
  it('writes HELP and TYPE once per metric, labels escaped', () => {
    expect(
      formatPrometheus([
        { name: 'a_total', help: 'A.', type: 'counter', value: 3, labels: { d: 'x"y' } },
        { name: 'a_total', help: 'A.', type: 'counter', value: 4, labels: { d: 'z' } },
        { name: 'b', help: 'B\nline', type: 'gauge', value: 1.5 },
      ]),
    ).toBe(
      '# HELP a_total A.\n# TYPE a_total counter\na_total{d="x\\"y"} 3\na_total{d="z"} 4\n' +
        '# HELP b B\\nline\n# TYPE b gauge\nb 1.5\n',
    );
  });
});
