// Counters kept in memory (reset on restart, as Prometheus expects) and
// gauges read at scrape time.
import { Inject, Injectable } from '@nestjs/common';
import { DevicesService } from '../devices/devices.service.js';
import { renderMetrics, type MetricFamily } from '@netmirror/metrics';

@Injectable()
export class MetricsService {
  /** key: method \0 route \0 status */
  private readonly http = new Map<string, number>();

  constructor(@Inject(DevicesService) private readonly devices: DevicesService) {}

  countHttp(method: string, route: string, status: number): void {
    const key = `${method}\0${route}\0${status}`;
    this.http.set(key, (this.http.get(key) ?? 0) + 1);
  }

  async render(): Promise<string> {
    const counts = await this.devices.counts();
    const mem = process.memoryUsage();
    const families: MetricFamily[] = [
      {
        name: 'netmirror_devices',
        help: 'Enrolled devices.',
        type: 'gauge',
        samples: [{ value: counts.total }],
      },
      {
        name: 'netmirror_devices_online',
        help: 'Devices currently online.',
        type: 'gauge',
        samples: [{ value: counts.online }],
      },
      {
        name: 'netmirror_http_requests_total',
        help: 'HTTP requests by method, route template and status.',
        type: 'counter',
        samples: [...this.http].map(([key, value]) => {
          const [method, route, status] = key.split('\0');
          return { labels: { method, route, status }, value };
        }),
      },
      {
        name: 'process_resident_memory_bytes',
        help: 'Resident set size in bytes.',
        type: 'gauge',
        samples: [{ value: mem.rss }],
      },
      {
        name: 'nodejs_heap_used_bytes',
        help: 'V8 heap in use, bytes.',
        type: 'gauge',
        samples: [{ value: mem.heapUsed }],
      },
      {
        name: 'nodejs_heap_total_bytes',
        help: 'V8 heap allocated, bytes.',
        type: 'gauge',
        samples: [{ value: mem.heapTotal }],
      },
      {
        name: 'process_uptime_seconds',
        help: 'Seconds since the process started.',
        type: 'gauge',
        samples: [{ value: Math.round(process.uptime()) }],
      },
    ];
    return renderMetrics(families);
  }
}
