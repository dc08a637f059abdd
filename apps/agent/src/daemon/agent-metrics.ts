import type { MirrorSummary } from '../pipeline/index.js';
import type { Sample } from './prometheus.js';

/** The agent's data-path counters as Prometheus samples. */
export function mirrorSamples(s: MirrorSummary): Sample[] {
  const c = s.counters;
  const counter = (
    name: string,
    help: string,
    value: number,
    labels?: Record<string, string>,
  ): Sample => ({
    name: `netmirror_${name}`,
    help,
    type: 'counter',
    value,
    labels,
  });
  const samples: Sample[] = [
    counter('frames_read_total', 'Frames read from the taps.', c.read),
    counter('bytes_read_total', 'Bytes of the frames read.', c.bytesRead),
    counter('frames_malformed_total', 'Frames the decoders flagged malformed.', c.malformed),
    counter('frames_filtered_out_total', 'Frames the capture filter rejected.', c.filteredOut),
    counter('frames_matched_total', 'Frames a mirror rule matched.', c.matched),
    counter('frames_skipped_total', 'Frames a skip rule matched.', c.skipped),
    counter('frames_mirrored_total', 'Frames copied to at least one destination.', c.mirrored),
  ];
  for (const d of s.destinations) {
    const labels = { destination: d.name };
    samples.push(
      counter('destination_sent_total', 'Copies written or sent, per destination.', d.sent, labels),
      counter(
        'destination_bytes_total',
        'Bytes written or sent, per destination.',
        d.bytes,
        labels,
      ),
      counter(
        'destination_dropped_total',
        'Copies dropped at a full queue, per destination.',
        d.dropped,
        labels,
      ),
      counter(
        'destination_failed_total',
        'Copies lost to I/O errors, per destination.',
        d.failed,
        labels,
      ),
    );
  }
  return samples;
}
