// Counters kept in memory (reset on restart, as Prometheus expects) and
// gauges read at scrape time.
import { Inject, Injectable } from '@nestjs/common';
import { ControlService } from '../control/control.service.js';
import { DevicesService } from '../devices/devices.service.js';
import { renderMetrics, type MetricFamily } from '@netmirror/metrics';

@Injectable()
export class MetricsService {
  /** key: method \0 route \0 status */
  private readonly http = new Map<string, number>();

  constructor(
    @Inject(DevicesService) private readonly devices: DevicesService,
    @Inject(ControlService) private readonly control: ControlService,
  ) {}

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
        name: 'netmirror_fleet_mqtt_connected',
        help: 'Whether the control loop is connected to the broker (1) or not (0).',
        type: 'gauge',
        samples: [
          {
            labels: { replica: this.control.replicaId, mqtt: this.control.mqtt5 ? '5' : '3.1.1' },
            value: this.control.connected ? 1 : 0,
          },
        ],
      },
      {
        name: 'netmirror_fleet_messages_received_total',
        help: 'Device messages this replica handled, by type (replicas on MQTT 5 split them).',
        type: 'counter',
        samples: [...this.control.received].map(([type, value]) => ({ labels: { type }, value })),
      },
      {
        name: 'netmirror_fleet_messages_rejected_total',
        help: 'Device messages refused as malformed, oversized or on a foreign topic.',
        type: 'counter',
        samples: [{ value: this.control.rejected.count }],
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
