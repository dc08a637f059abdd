import type { MetricFamily } from '@netmirror/metrics';
import type { MirrorSummary } from '../pipeline/index.js';

/** The agent's data-path counters as Prometheus metric families. */
export function mirrorFamilies(s: MirrorSummary): MetricFamily[] {
  const c = s.counters;
  const counter = (name: string, help: string, value: number): MetricFamily => ({
    name: `netmirror_${name}`,
    help,
    type: 'counter',
    samples: [{ value }],
  });
  const perDestination = (
    name: string,
    help: string,
    value: (d: MirrorSummary['destinations'][number]) => number,
  ): MetricFamily => ({
    name: `netmirror_${name}`,
    help,
    type: 'counter',
    samples: s.destinations.map((d) => ({ labels: { destination: d.name }, value: value(d) })),
  });
  return [
    counter('frames_read_total', 'Frames read from the taps.', c.read),
    counter('bytes_read_total', 'Bytes of the frames read.', c.bytesRead),
    {
      name: 'netmirror_tap_frames_read_total',
      help: 'Frames read, per tapped interface.',
      type: 'counter',
      samples: s.interfaces.map((f) => ({ labels: { interface: f.name }, value: f.read })),
    },
    {
      name: 'netmirror_tap_frames_dropped_total',
      help: 'Frames the source lost before the agent saw them (kernel ring full), per tapped interface.',
      type: 'counter',
      samples: s.interfaces.map((f) => ({ labels: { interface: f.name }, value: f.dropped })),
    },
    counter('frames_malformed_total', 'Frames the decoders flagged malformed.', c.malformed),
    counter('frames_filtered_out_total', 'Frames the capture filter rejected.', c.filteredOut),
    counter('frames_matched_total', 'Frames a mirror rule matched.', c.matched),
    counter('frames_skipped_total', 'Frames a skip rule matched.', c.skipped),
    counter('frames_mirrored_total', 'Frames copied to at least one destination.', c.mirrored),
    perDestination(
      'destination_sent_total',
      'Copies written or sent, per destination.',
      (d) => d.sent,
    ),
    perDestination(
      'destination_bytes_total',
      'Bytes written or sent, per destination.',
      (d) => d.bytes,
    ),
    perDestination(
      'destination_dropped_total',
      'Copies dropped at a full queue, per destination.',
      (d) => d.dropped,
    ),
    perDestination(
      'destination_failed_total',
      'Copies lost to I/O errors, per destination.',
      (d) => d.failed,
    ),
  ];
}
