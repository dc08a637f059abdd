// Human output of `netmirror fleet`: aligned tables and short lines. Pure
// functions from the client's types to text, so they are tested without a server.
import type {
  AuditEntry,
  DesiredState,
  Device,
  DomainState,
  DriftRow,
  FirmwareImage,
  FirmwareUpdate,
  FleetApiError,
  KeySet,
  Labels,
  ReportedState,
  Rollout,
  TelemetrySample,
} from '@netmirror/fleet-client';

/** Columns padded to their widest cell, two spaces apart; the last is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `key  value` lines with the keys aligned. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${v}`).join('\n') + '\n';
}

/** ISO date-time to the second (`2025-07-01 12:00:05Z`), or `-`. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** `role=core,rack=r12`, or `-` when there are none. */
export function labelList(labels: Labels | null | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** `sha256:0123456789ab` (12 hex digits are plenty to tell versions apart). */
export function shortHash(hash: string | null | undefined): string {
  if (!hash) return '-';
  const m = /^(sha256:)?([0-9a-f]+)$/i.exec(hash);
  return m ? `${m[1] ?? ''}${m[2].slice(0, 12)}` : hash;
}

/** 1536 → `1.5 KiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The one line an API error becomes: the status, then the server's field and message. */
export function apiErrorLine(e: FleetApiError): string {
  const fieldPart = e.field !== null && !e.message.startsWith(`${e.field}:`) ? `${e.field}: ` : '';
  return `HTTP ${e.status} ${e.statusText}: ${fieldPart}${e.message}`.replace(/\s+:/, ':');
}

// ---- devices

export function deviceTable(items: readonly Device[]): string {
  return table(
    ['ID', 'NAME', 'SITE', 'ONLINE', 'LAST SEEN', 'LABELS'],
    items.map((d) => [
      d.id,
      d.name,
      d.site ?? '-',
      d.online ? 'yes' : 'no',
      when(d.lastSeenAt),
      labelList(d.labels),
    ]),
  );
}

export function deviceDetails(d: Device): string {
  return fields([
    ['id', d.id],
    ['name', d.name],
    ['site', d.site ?? '-'],
    ['labels', labelList(d.labels)],
    ['online', d.online ? 'yes' : 'no'],
    ['last seen', when(d.lastSeenAt)],
    ['model', d.model ?? '-'],
    ['firmware', d.firmwareVersion ?? '-'],
    ['agent', d.agentVersion ?? '-'],
    ['certificate', d.certificatePem ? 'issued' : 'none'],
    ['enrolled', when(d.createdAt)],
  ]);
}

// ---- desired vs reported

export function desiredText(d: DesiredState | null): string {
  if (!d) return '-';
  const from = d.policy ? ` ${d.policy}@${d.policyVersion ?? '?'}` : '';
  return `v${d.version}${from} ${shortHash(d.hash)}`;
}

export function reportedText(r: ReportedState | null): string {
  if (!r) return '-';
  if (r.status === 'error')
    return `v${r.version} error${r.rejectedVersion !== null ? ` (rejected v${r.rejectedVersion})` : ''}`;
  return `v${r.version} applied ${shortHash(r.hash)}`;
}

export const syncText = (s: DomainState): string => (s.inSync ? 'IN SYNC' : 'DRIFT');

/** Errors the devices reported, one line each, below a state or drift table. */
function reportedErrors(rows: ReadonlyArray<DomainState & { deviceId?: string }>): string {
  return rows
    .filter((r) => r.reported?.status === 'error' && r.reported.error)
    .map((r) => `${r.deviceId ? `${r.deviceId} ` : ''}${r.domain}: ${r.reported!.error}\n`)
    .join('');
}

export function stateTable(
  deviceId: string,
  online: boolean,
  lastSeenAt: string | null,
  domains: readonly DomainState[],
): string {
  const head = `${deviceId}  ${online ? 'online' : 'offline'}  last seen ${when(lastSeenAt)}\n`;
  return (
    head +
    table(
      ['DOMAIN', 'DESIRED', 'REPORTED', 'SYNC'],
      domains.map((s) => [s.domain, desiredText(s.desired), reportedText(s.reported), syncText(s)]),
    ) +
    reportedErrors(domains)
  );
}

export function driftTable(rows: readonly DriftRow[]): string {
  if (rows.length === 0) return 'no drift: every device is in sync\n';
  return (
    table(
      ['DEVICE', 'DOMAIN', 'DESIRED', 'REPORTED', 'SYNC'],
      rows.map((s) => [
        s.deviceId,
        s.domain,
        desiredText(s.desired),
        reportedText(s.reported),
        syncText(s),
      ]),
    ) + reportedErrors(rows)
  );
}

// ---- rollouts

export interface RolloutProgress {
  devices: number;
  applied: number;
  errors: number;
  /** Stages started (a stage with any device past waiting). */
  started: number;
  stages: number;
}

export function rolloutProgress(r: Rollout): RolloutProgress {
  const all = r.stages.flatMap((s) => s.devices);
  return {
    devices: all.length,
    applied: all.filter((d) => d.outcome === 'applied').length,
    errors: all.filter((d) => d.outcome === 'error').length,
    started: r.stages.filter((s) => s.devices.some((d) => d.outcome !== 'waiting')).length,
    stages: r.stages.length,
  };
}

/** `running  stage 2/3  applied 3/5  errors 0` */
export function progressLine(r: Rollout): string {
  const p = rolloutProgress(r);
  return `${r.status}  stage ${p.started}/${p.stages}  applied ${p.applied}/${p.devices}  errors ${p.errors}${r.reason ? `  (${r.reason})` : ''}`;
}

export function strategyText(r: Rollout): string {
  const s = r.strategy;
  return `canary ${s.canary}, waves ${s.waves.join('/')} %, at most ${s.maxFailuresPerStage} failures per stage, success ratio ${s.successRatio}`;
}

export function rolloutDetails(r: Rollout): string {
  const was = r.previousVersion === null ? '' : ` (was v${r.previousVersion})`;
  const head = fields([
    ['rollout', r.id],
    ['policy', `${r.policy} v${r.version}${was}, ${r.domain} domain`],
    ['status', r.status + (r.reason ? `: ${r.reason}` : '')],
    ['strategy', strategyText(r)],
    ['progress', progressLine(r)],
    ['started by', `${r.createdBy} at ${when(r.createdAt)}`],
    ['updated', when(r.updatedAt)],
  ]);
  const rows = r.stages.flatMap((s) =>
    s.devices.map((d) => [String(s.index), d.deviceId, d.outcome, d.error ?? '']),
  );
  return (
    head +
    (rows.length === 0
      ? 'no devices targeted\n'
      : '\n' + table(['STAGE', 'DEVICE', 'OUTCOME', 'ERROR'], rows))
  );
}

export function rolloutTable(items: readonly Rollout[]): string {
  if (items.length === 0) return 'no rollouts\n';
  return table(
    ['ID', 'POLICY', 'VERSION', 'STATUS', 'APPLIED', 'ERRORS', 'BY', 'STARTED'],
    items.map((r) => {
      const p = rolloutProgress(r);
      return [
        r.id,
        r.policy,
        String(r.version),
        r.status,
        `${p.applied}/${p.devices}`,
        String(p.errors),
        r.createdBy,
        when(r.createdAt),
      ];
    }),
  );
}

// ---- telemetry, keys, audit

export function telemetryTable(items: readonly TelemetrySample[]): string {
  if (items.length === 0) return 'no telemetry in that window\n';
  const sum = <T>(xs: readonly T[], f: (x: T) => number): number =>
    xs.reduce((a, x) => a + f(x), 0);
  return table(
    ['AT', 'CPU', 'MEMORY', 'SEEN', 'TAP DROPS', 'SENT', 'SENT BYTES', 'DEST DROPS', 'QUEUE'],
    items.map((t) => [
      when(t.at),
      `${t.cpuPercent.toFixed(1)}%`,
      bytes(t.memoryBytes),
      String(sum(t.taps, (x) => x.packetsSeen)),
      String(sum(t.taps, (x) => x.packetsDropped)),
      String(sum(t.destinations, (x) => x.packetsSent)),
      bytes(sum(t.destinations, (x) => x.bytesSent)),
      String(sum(t.destinations, (x) => x.packetsDropped)),
      String(sum(t.destinations, (x) => x.queueDepth)),
    ]),
  );
}

export function keysText(k: KeySet): string {
  return (
    `key set version ${k.version}\n` +
    (k.keys.length === 0
      ? 'no data keys\n'
      : table(
          ['KEY ID', 'ACTIVE', 'CREATED', 'RETIRED'],
          k.keys.map((x) => [
            x.keyId,
            x.active ? 'yes' : 'no',
            when(x.createdAt),
            when(x.retiredAt),
          ]),
        ))
  );
}

export function firmwareTable(items: readonly FirmwareImage[]): string {
  if (items.length === 0) return 'no firmware images\n';
  return table(
    ['ID', 'BOARD', 'VERSION', 'SIZE', 'KEY', 'SHA-256', 'UPLOADED'],
    items.map((i) => [
      i.id,
      i.boardProfile,
      i.version,
      bytes(i.size),
      i.keyId,
      i.sha256.slice(0, 12),
      `${when(i.createdAt)} by ${i.createdBy}`,
    ]),
  );
}

/** `running  upload 48.0 KiB/156.4 KiB (31 %)`, `installed  done  firmware 1.2.0 installed and confirmed`. */
export function firmwareUpdateLine(u: FirmwareUpdate): string {
  const amount =
    u.total > 0 && (u.phase === 'download' || u.phase === 'upload')
      ? ` ${bytes(u.bytes)}/${bytes(u.total)} (${Math.floor((u.bytes / u.total) * 100)} %)`
      : '';
  return `${u.status}  ${u.phase ?? '-'}${amount}${u.message ? `  ${u.message}` : ''}`;
}

export function firmwareUpdateTable(items: readonly FirmwareUpdate[]): string {
  if (items.length === 0) return 'no firmware updates\n';
  return table(
    ['ID', 'VERSION', 'STATUS', 'PHASE', 'RUNNING', 'STARTED', 'FINISHED'],
    items.map((u) => [
      u.id,
      u.version,
      u.status,
      u.phase ?? '-',
      u.runningVersion ?? '-',
      `${when(u.createdAt)} by ${u.createdBy}`,
      when(u.finishedAt),
    ]),
  );
}

export function firmwareUpdateDetails(u: FirmwareUpdate): string {
  return fields([
    ['update', u.id],
    ['device', u.deviceId],
    ['image', `${u.imageId} (${u.version})`],
    ['status', firmwareUpdateLine(u)],
    ['board firmware', `${u.previousVersion ?? '?'} -> ${u.runningVersion ?? '?'}`],
    ['started by', `${u.createdBy} at ${when(u.createdAt)}`],
    ['command expires', when(u.expiresAt)],
    ['updated', when(u.updatedAt)],
    ['finished', when(u.finishedAt)],
  ]);
}

export function auditTable(items: readonly AuditEntry[]): string {
  if (items.length === 0) return 'no audit entries\n';
  return table(
    ['ID', 'AT', 'ACTOR', 'ACTION', 'TARGET', 'DETAILS'],
    items.map((a) => [
      String(a.id),
      when(a.at),
      a.actor,
      a.action,
      a.target,
      Object.keys(a.details ?? {}).length === 0 ? '' : JSON.stringify(a.details),
    ]),
  );
}
