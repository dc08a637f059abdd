/** What the pipeline did with the frames it read (the summary and --stats-json). */
export interface PipelineCounters {
  /** Frames read from the source. */
  read: number;
  /** Bytes of the frames read (captured length). */
  bytesRead: number;
  /** Frames the --filter passed that the decoders flagged malformed (still evaluated by the rules). */
  malformed: number;
  /** Frames the global --filter rejected. */
  filteredOut: number;
  /** Frames a mirror rule matched. */
  matched: number;
  /** Frames a skip rule matched. */
  skipped: number;
  /** Frames no rule matched. */
  unmatched: number;
  /** Matched frames left out by 1-in-N sampling. */
  sampledOut: number;
  /** Matched frames dropped as duplicates. */
  deduplicated: number;
  /** Frames copied to at least one destination queue. */
  mirrored: number;
}

export interface RuleCounters {
  name: string;
  matched: number;
  sampledOut: number;
  deduplicated: number;
  mirrored: number;
}

export function newPipelineCounters(): PipelineCounters {
  return {
    read: 0,
    bytesRead: 0,
    malformed: 0,
    filteredOut: 0,
    matched: 0,
    skipped: 0,
    unmatched: 0,
    sampledOut: 0,
    deduplicated: 0,
    mirrored: 0,
  };
}
