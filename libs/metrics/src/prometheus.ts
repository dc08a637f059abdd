// Prometheus text exposition format 0.0.4, written by hand: one HELP and TYPE
// line per family, then `name{label="value",...} number` per sample.
export type MetricType = 'counter' | 'gauge';
export type MetricLabels = Record<string, string>;

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Array<{ labels?: MetricLabels; value: number }>;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export function renderMetrics(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const entries = Object.entries(s.labels ?? {});
      const labels = entries.length
        ? `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`
        : '';
      lines.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}
