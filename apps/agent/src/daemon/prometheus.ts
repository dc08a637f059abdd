/** One sample of the Prometheus text exposition format (version 0.0.4). */
export interface Sample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

/** Renders samples as the Prometheus text format: HELP and TYPE once per name. */
export function formatPrometheus(samples: readonly Sample[]): string {
  const lines: string[] = [];
  const described = new Set<string>();
  for (const s of samples) {
    if (!described.has(s.name)) {
      described.add(s.name);
      lines.push(`# HELP ${s.name} ${s.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      lines.push(`# TYPE ${s.name} ${s.type}`);
    }
    const labels = s.labels
      ? `{${Object.entries(s.labels)
          .map(
            ([k, v]) =>
              `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
          )
          .join(',')}}`
      : '';
    lines.push(`${s.name}${labels} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
  }
  return lines.join('\n') + '\n';
}
