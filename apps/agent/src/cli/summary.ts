import type { MirrorSummary } from '../pipeline/index.js';

const n = (v: number): string => v.toLocaleString('en-US');

/** The end-of-run report: what was read, matched, malformed, and per destination sent and dropped. */
export function formatSummary(s: MirrorSummary): string {
  const c = s.counters;
  const rate = s.elapsedSec > 0 ? c.read / s.elapsedSec : 0;
  const lines = [
    `source ${s.source}: ${n(c.read)} frames (${n(c.bytesRead)} bytes) in ${s.elapsedSec.toFixed(3)} s, ${(rate / 1e6).toFixed(3)} Mpps, dropped by the source ${n(s.sourceDropped)}`,
    `  malformed ${n(c.malformed)}  filtered out ${n(c.filteredOut)}  matched ${n(c.matched)}  skipped ${n(c.skipped)}  unmatched ${n(c.unmatched)}`,
    `  mirrored ${n(c.mirrored)}  sampled out ${n(c.sampledOut)}  deduplicated ${n(c.deduplicated)}`,
  ];
  if (s.rules.length > 1) {
    lines.push('rules:');
    for (const r of s.rules)
      lines.push(`  ${r.name}: matched ${n(r.matched)}, mirrored ${n(r.mirrored)}`);
  }
  lines.push('destinations:');
  for (const d of s.destinations) {
    const extra = [
      d.truncated ? `truncated ${n(d.truncated)}` : '',
      d.unsupported ? `unsupported ${n(d.unsupported)}` : '',
      d.failed ? `failed ${n(d.failed)} (${d.lastError})` : '',
    ].filter(Boolean);
    lines.push(
      `  ${d.name} ${d.uri}: sent ${n(d.sent)}, dropped ${n(d.dropped)}${extra.length ? ', ' + extra.join(', ') : ''}`,
    );
  }
  if (s.sourceError) lines.push(`source error: ${s.sourceError}`);
  return lines.join('\n') + '\n';
}
