import { describe, expect, it } from 'vitest';
import { renderMetrics } from './prometheus.js';

describe('renderMetrics', () => {
  it('writes HELP and TYPE once per family, labels and help escaped', () => {
    expect(
      renderMetrics([
        {
          name: 'a_total',
          help: 'A.',
          type: 'counter',
          samples: [
            { labels: { d: 'x"y' }, value: 3 },
            { labels: { d: 'z' }, value: 4 },
          ],
        },
        {
          name: 'b',
          help: 'B\nline',
          type: 'gauge',
          samples: [{ value: 1.5 }, { value: Infinity }],
        },
      ]),
    ).toBe(
      '# HELP a_total A.\n# TYPE a_total counter\na_total{d="x\\"y"} 3\na_total{d="z"} 4\n' +
        '# HELP b B\\nline\n# TYPE b gauge\nb 1.5\nb +Inf\n',
    );
  });
});
