export { renderMetrics } from './prometheus.js';
export type { MetricFamily, MetricLabels, MetricType } from './prometheus.js';
