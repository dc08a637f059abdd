import type { Telemetry } from '@netmirror/protocol';

/**
 * Telemetry message `i` of a series the tests publish and query back: one
 * tap and one destination ("lake") whose counters grow with `i`.
 */
export function sampleTelemetry(at: number, i: number): Telemetry {
  return {
    v: 1,
    type: 'telemetry',
    at,
    taps: [{ name: 'pcap', packetsSeen: 100 * i, bytesSeen: 6400 * i, packetsDropped: 0 }],
    destinations: [
      { name: 'lake', packetsSent: 90 * i, bytesSent: 5000 * i, packetsDropped: i, queueDepth: 0 },
    ],
    cpuPercent: 1.5,
    memoryBytes: 50e6,
  };
}
