import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import {
  FINISHED_ROLLOUT_STATUSES,
  FleetApiError,
  FleetClient,
  FleetConnectionError,
} from '@netmirror/fleet-client';
import { ACTIVE_FIRMWARE_UPDATE_STATUSES } from '@netmirror/fleet-client';
import type {
  AlertSeverity,
  PolicyDomain,
  Rollout,
  UpdateDeviceRequest,
} from '@netmirror/fleet-client';
import {
  boolean,
  integer,
  keyValues,
  pointInTime,
  readSpec,
  strategyFrom,
  UsageError,
  yaml,
} from './fleet-args.js';
import {
  apiErrorLine,
  auditTable,
  deviceDetails,
  deviceTable,
  driftTable,
  fields,
  firmwareTable,
  firmwareUpdateDetails,
  firmwareUpdateLine,
  firmwareUpdateTable,
  keysText,
  labelList,
  progressLine,
  rolloutDetails,
  rolloutTable,
  shortHash,
  stateTable,
  table,
  telemetryTable,
  when,
} from './fleet-format.js';

export const DEFAULT_FLEET_URL = 'http://127.0.0.1:8080';

const HELP = `Usage: netmirror fleet [--url URL] [--actor NAME] [--json] COMMAND

Operates a NetMirror fleet through the fleet manager's REST API.

  --url URL      the fleet manager (default: $NETMIRROR_FLEET_URL, else ${DEFAULT_FLEET_URL})
  --actor NAME   your name in the audit log (default: $NETMIRROR_FLEET_ACTOR, else anonymous)
  --json         print the server's JSON instead of tables

Devices:
  devices list [--label k=v]... [--online true|false] [--limit N] [--offset N]
  devices show ID
  devices set ID [--name N] [--site S] [--label k=v]... [--unlabel k]...   (--site '' clears it)
  devices remove ID                       decommission
  devices state ID                        desired vs reported, per domain (IN SYNC / DRIFT)
  drift                                   every device domain that is not in sync
Enrollment:
  tokens create [--name DEVICE-NAME] [--label k=v]... [--ttl SECONDS]   (default 3600)
  tokens list
Policies (--file: YAML or JSON; policy = a rules file, retention = recorder limits):
  policies list
  policies show NAME                      the policy and its latest spec
  policies create NAME --domain policy|retention --file SPEC [--target k=v]...
                  [--priority N] [--comment TEXT]
  policies update NAME [--target k=v]... [--priority N]    (--target replaces the set)
  policies push NAME --file SPEC [--comment TEXT]          a new version (not deployed)
  policies versions NAME
  policies remove NAME
Rollouts:
  deploy NAME VERSION                     every targeted device at once
  rollouts start NAME VERSION [--canary N] [--waves 25,50,100] [--max-failures N]
                  [--success-ratio R]
  rollouts list [--policy NAME]
  rollouts show ID
  rollouts pause|resume|abort|rollback ID
  rollouts watch ID [--timeout SECONDS]   every second until it ends (default 300 s);
                                          exit 0 if it completed, 1 otherwise
Monitoring:
  telemetry DEVICE [--since 10m|1h|ISO] [--until ISO] [--limit N]
  alerts list [--device ID] [--severity info|warning|critical] [--since 10m|ISO] [--limit N]
  alerts ack ID
  keys list                               data key metadata (never key material)
  keys rotate
  audit [--limit N] [--before ID] [--target TARGET]
  health                                  exit 1 when a dependency is down
Firmware (hardware tap boards):
  firmware upload FILE                    checked (CRC, board, signature); refused otherwise
  firmware list
  firmware install DEVICE IMAGE-ID [--ttl SECONDS] [--watch] [--timeout SECONDS]
                                          --watch: every second until it ends (default 600 s);
                                          exit 0 if installed, 1 otherwise
  firmware updates DEVICE
  firmware update DEVICE UPDATE-ID

Exit codes: 0 ok, 1 the server refused or could not be reached, 2 usage.
`;

/** What a command writes to and reads from; replaced in tests. */
export interface FleetIo {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

const processIo: FleetIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  env: process.env,
  now: () => new Date(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

interface Ctx {
  client: FleetClient;
  json: boolean;
  io: FleetIo;
  /** Prints `data` as JSON with --json, else the human text. */
  print(data: unknown, human: () => string): void;
}

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

interface Command {
  /** Positional argument names, all required. */
  args: string[];
  options: ParseArgsOptionsConfig;
  run(ctx: Ctx, v: Values, args: string[]): Promise<number | void>;
}

const str = { type: 'string' } as const;
const strs = { type: 'string', multiple: true } as const;

const GLOBAL_OPTIONS: ParseArgsOptionsConfig = {
  url: str,
  actor: str,
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const s = (v: Values, k: string): string | undefined => v[k] as string | undefined;
const list = (v: Values, k: string): string[] => (v[k] as string[] | undefined) ?? [];

/** A rollout-changing action, printed as the rollout's new state. */
const rolloutAction = (act: (c: FleetClient, id: string) => Promise<Rollout>): Command => ({
  args: ['ID'],
  options: {},
  run: async (ctx, _v, [id]) => {
    const r = await act(ctx.client, id);
    ctx.print(r, () => rolloutDetails(r));
  },
});

const COMMANDS: Record<string, Command> = {
  'devices list': {
    args: [],
    options: { label: strs, online: str, limit: str, offset: str },
    run: async (ctx, v) => {
      const online = s(v, 'online');
      const limit = s(v, 'limit');
      const offset = s(v, 'offset');
      const page = await ctx.client.listDevices({
        labels: keyValues(list(v, 'label'), '--label'),
        online: online === undefined ? undefined : boolean(online, '--online'),
        limit: limit === undefined ? undefined : integer(limit, '--limit', 1, 1000),
        offset: offset === undefined ? undefined : integer(offset, '--offset', 0, 1e9),
      });
      ctx.print(page, () => {
        if (page.total === 0) return 'no devices\n';
        const shown =
          page.items.length < page.total
            ? `${page.items.length} of ${page.total} devices (see --limit and --offset)\n`
            : `${page.total} device${page.total === 1 ? '' : 's'}\n`;
        return deviceTable(page.items) + shown;
      });
    },
  },
  'devices show': {
    args: ['ID'],
    options: {},
    run: async (ctx, _v, [id]) => {
      const d = await ctx.client.getDevice(id);
      ctx.print(d, () => deviceDetails(d));
    },
  },
  'devices set': {
    args: ['ID'],
    options: { name: str, site: str, label: strs, unlabel: strs },
    run: async (ctx, v, [id]) => {
      const patch: UpdateDeviceRequest = {};
      const name = s(v, 'name');
      const site = s(v, 'site');
      if (name !== undefined) patch.name = name;
      if (site !== undefined) patch.site = site === '' ? null : site;
      const labels: Record<string, string | null> = keyValues(list(v, 'label'), '--label');
      for (const k of list(v, 'unlabel')) {
        if (k in labels) throw new UsageError(`--label ${k} and --unlabel ${k}: pick one`);
        labels[k] = null;
      }
      if (Object.keys(labels).length > 0) patch.labels = labels;
      if (Object.keys(patch).length === 0)
        throw new UsageError('nothing to change: give --name, --site, --label or --unlabel');
      const d = await ctx.client.updateDevice(id, patch);
      ctx.print(d, () => deviceDetails(d));
    },
  },
  'devices remove': {
    args: ['ID'],
    options: {},
    run: async (ctx, _v, [id]) => {
      await ctx.client.removeDevice(id);
      if (!ctx.json) ctx.io.out(`decommissioned device ${id}\n`);
    },
  },
  'devices state': {
    args: ['ID'],
    options: {},
    run: async (ctx, _v, [id]) => {
      const st = await ctx.client.getDeviceState(id);
      ctx.print(st, () => stateTable(st.deviceId, st.online, st.lastSeenAt, st.domains));
    },
  },
  drift: {
    args: [],
    options: {},
    run: async (ctx) => {
      const d = await ctx.client.getDrift();
      ctx.print(d, () => driftTable(d.items));
    },
  },

  'tokens create': {
    args: [],
    options: { name: str, label: strs, ttl: str },
    run: async (ctx, v) => {
      const ttl = s(v, 'ttl');
      const t = await ctx.client.createEnrollmentToken({
        ttlSeconds: ttl === undefined ? 3600 : integer(ttl, '--ttl', 60, 30 * 24 * 3600),
        deviceName: s(v, 'name'),
        labels: keyValues(list(v, 'label'), '--label'),
      });
      ctx.print(
        t,
        () =>
          `Enrollment token (shown only this once; the fleet manager keeps only its hash):\n\n` +
          `    ${t.token}\n\n` +
          fields([
            ['id', t.id],
            ['expires', when(t.expiresAt)],
            ['device name', t.deviceName ?? '-'],
            ['labels', labelList(t.labels)],
          ]),
      );
    },
  },
  'tokens list': {
    args: [],
    options: {},
    run: async (ctx) => {
      const items = await ctx.client.listEnrollmentTokens();
      ctx.print(items, () =>
        items.length === 0
          ? 'no enrollment tokens\n'
          : table(
              ['ID', 'STATE', 'DEVICE NAME', 'LABELS', 'CREATED BY', 'EXPIRES', 'USED BY'],
              items.map((t) => [
                t.id,
                t.state,
                t.deviceName ?? '-',
                labelList(t.labels),
                t.createdBy,
                when(t.expiresAt),
                t.usedByDeviceId ?? '-',
              ]),
            ),
      );
    },
  },

  'policies list': {
    args: [],
    options: {},
    run: async (ctx) => {
      const items = await ctx.client.listPolicies();
      ctx.print(items, () =>
        items.length === 0
          ? 'no policies\n'
          : table(
              ['NAME', 'DOMAIN', 'PRIORITY', 'TARGET', 'LATEST', 'DEPLOYED', 'UPDATED'],
              items.map((p) => [
                p.name,
                p.domain,
                String(p.priority),
                labelList(p.targetLabels) === '-' ? 'all devices' : labelList(p.targetLabels),
                String(p.latestVersion),
                p.deployedVersion === null ? '-' : String(p.deployedVersion),
                when(p.updatedAt),
              ]),
            ),
      );
    },
  },
  'policies show': {
    args: ['NAME'],
    options: {},
    run: async (ctx, _v, [name]) => {
      const p = await ctx.client.getPolicy(name);
      if (ctx.json) return ctx.print(p, () => '');
      const latest = await ctx.client.getPolicyVersion(name, p.latestVersion);
      ctx.io.out(
        fields([
          ['name', p.name],
          ['domain', p.domain],
          ['target', labelList(p.targetLabels) === '-' ? 'all devices' : labelList(p.targetLabels)],
          ['priority', String(p.priority)],
          [
            'latest',
            `v${p.latestVersion} ${shortHash(latest.hash)} by ${latest.createdBy} at ${when(latest.createdAt)}`,
          ],
          ['deployed', p.deployedVersion === null ? 'no' : `v${p.deployedVersion}`],
          ['comment', latest.comment ?? '-'],
        ]) +
          `\nspec (v${p.latestVersion}):\n` +
          indent(yaml().stringify(latest.spec)),
      );
    },
  },
  'policies create': {
    args: ['NAME'],
    options: { domain: str, file: str, target: strs, priority: str, comment: str },
    run: async (ctx, v, [name]) => {
      const domain = s(v, 'domain');
      if (domain !== 'policy' && domain !== 'retention')
        throw new UsageError('--domain: give policy or retention');
      const file = s(v, 'file');
      if (file === undefined) throw new UsageError('--file SPEC is required');
      const priority = s(v, 'priority');
      const p = await ctx.client.createPolicy({
        name,
        domain: domain as PolicyDomain,
        targetLabels: keyValues(list(v, 'target'), '--target'),
        priority: priority === undefined ? undefined : integer(priority, '--priority', -1000, 1000),
        spec: readSpec(file),
        comment: s(v, 'comment'),
      });
      ctx.print(
        p,
        () =>
          `created policy ${p.name} (${p.domain}) version ${p.latestVersion}, not deployed\n` +
          `deploy it with: netmirror fleet deploy ${p.name} ${p.latestVersion}\n`,
      );
    },
  },
  'policies update': {
    args: ['NAME'],
    options: { target: strs, priority: str },
    run: async (ctx, v, [name]) => {
      const priority = s(v, 'priority');
      const targets = list(v, 'target');
      if (priority === undefined && targets.length === 0)
        throw new UsageError('nothing to change: give --target or --priority');
      const p = await ctx.client.updatePolicy(name, {
        targetLabels: targets.length === 0 ? undefined : keyValues(targets, '--target'),
        priority: priority === undefined ? undefined : integer(priority, '--priority', -1000, 1000),
      });
      ctx.print(p, () =>
        fields([
          ['name', p.name],
          ['target', labelList(p.targetLabels) === '-' ? 'all devices' : labelList(p.targetLabels)],
          ['priority', String(p.priority)],
        ]),
      );
    },
  },
  'policies push': {
    args: ['NAME'],
    options: { file: str, comment: str },
    run: async (ctx, v, [name]) => {
      const file = s(v, 'file');
      if (file === undefined) throw new UsageError('--file SPEC is required');
      const pv = await ctx.client.pushPolicyVersion(name, {
        spec: readSpec(file),
        comment: s(v, 'comment'),
      });
      ctx.print(
        pv,
        () =>
          `pushed ${pv.policy} version ${pv.version} (${shortHash(pv.hash)}), not deployed\n` +
          `deploy it with: netmirror fleet deploy ${pv.policy} ${pv.version}\n`,
      );
    },
  },
  'policies versions': {
    args: ['NAME'],
    options: {},
    run: async (ctx, _v, [name]) => {
      const items = await ctx.client.listPolicyVersions(name);
      ctx.print(items, () =>
        table(
          ['VERSION', 'HASH', 'BY', 'CREATED', 'COMMENT'],
          items.map((x) => [
            String(x.version),
            shortHash(x.hash),
            x.createdBy,
            when(x.createdAt),
            x.comment ?? '',
          ]),
        ),
      );
    },
  },
  'policies remove': {
    args: ['NAME'],
    options: {},
    run: async (ctx, _v, [name]) => {
      await ctx.client.removePolicy(name);
      if (!ctx.json) ctx.io.out(`removed policy ${name}\n`);
    },
  },

  deploy: {
    args: ['NAME', 'VERSION'],
    options: {},
    run: async (ctx, _v, [name, version]) => {
      const r = await ctx.client.deployPolicy(name, integer(version, 'VERSION', 1, 2 ** 31 - 1));
      ctx.print(r, () => rolloutDetails(r));
    },
  },
  'rollouts start': {
    args: ['NAME', 'VERSION'],
    options: { canary: str, waves: str, 'max-failures': str, 'success-ratio': str },
    run: async (ctx, v, [name, version]) => {
      const r = await ctx.client.startRollout({
        policy: name,
        version: integer(version, 'VERSION', 1, 2 ** 31 - 1),
        strategy: strategyFrom(v as Parameters<typeof strategyFrom>[0]),
      });
      ctx.print(r, () => rolloutDetails(r));
    },
  },
  'rollouts list': {
    args: [],
    options: { policy: str },
    run: async (ctx, v) => {
      const items = await ctx.client.listRollouts({ policy: s(v, 'policy') });
      ctx.print(items, () => rolloutTable(items));
    },
  },
  'rollouts show': {
    args: ['ID'],
    options: {},
    run: async (ctx, _v, [id]) => {
      const r = await ctx.client.getRollout(id);
      ctx.print(r, () => rolloutDetails(r));
    },
  },
  'rollouts pause': rolloutAction((c, id) => c.pauseRollout(id)),
  'rollouts resume': rolloutAction((c, id) => c.resumeRollout(id)),
  'rollouts abort': rolloutAction((c, id) => c.abortRollout(id)),
  'rollouts rollback': rolloutAction((c, id) => c.rollbackRollout(id)),
  'rollouts watch': {
    args: ['ID'],
    options: { timeout: str },
    run: async (ctx, v, [id]) => {
      const timeout = s(v, 'timeout');
      const timeoutMs =
        (timeout === undefined ? 300 : integer(timeout, '--timeout', 1, 86_400)) * 1000;
      return watchRollout(ctx, id, timeoutMs, 1000);
    },
  },

  telemetry: {
    args: ['DEVICE'],
    options: { since: str, until: str, limit: str },
    run: async (ctx, v, [device]) => {
      const since = s(v, 'since');
      const until = s(v, 'until');
      const limit = s(v, 'limit');
      const now = ctx.io.now();
      const t = await ctx.client.getTelemetry(device, {
        from: since === undefined ? undefined : pointInTime(since, '--since', now),
        to: until === undefined ? undefined : pointInTime(until, '--until', now),
        limit: limit === undefined ? undefined : integer(limit, '--limit', 1, 10_000),
      });
      ctx.print(t, () => telemetryTable(t.items));
    },
  },
  'alerts list': {
    args: [],
    options: { device: str, severity: str, since: str, limit: str },
    run: async (ctx, v) => {
      const severity = s(v, 'severity');
      if (severity !== undefined && !['info', 'warning', 'critical'].includes(severity))
        throw new UsageError(`--severity ${severity}: give info, warning or critical`);
      const since = s(v, 'since');
      const limit = s(v, 'limit');
      const a = await ctx.client.listAlerts({
        deviceId: s(v, 'device'),
        severity: severity as AlertSeverity | undefined,
        from: since === undefined ? undefined : pointInTime(since, '--since', ctx.io.now()),
        limit: limit === undefined ? undefined : integer(limit, '--limit', 1, 1000),
      });
      ctx.print(a, () =>
        a.items.length === 0
          ? 'no alerts\n'
          : table(
              ['ID', 'AT', 'DEVICE', 'SEVERITY', 'CODE', 'ACK', 'MESSAGE'],
              a.items.map((x) => [
                String(x.id),
                when(x.at),
                x.deviceId,
                x.severity,
                x.code,
                x.acknowledgedBy ?? '-',
                x.message,
              ]),
            ),
      );
    },
  },
  'alerts ack': {
    args: ['ID'],
    options: {},
    run: async (ctx, _v, [id]) => {
      const a = await ctx.client.acknowledgeAlert(integer(id, 'ID', 1, Number.MAX_SAFE_INTEGER));
      ctx.print(
        a,
        () =>
          `acknowledged alert ${a.id} (${a.severity} ${a.code} on ${a.deviceId}) by ${a.acknowledgedBy ?? '?'} at ${when(a.acknowledgedAt)}\n`,
      );
    },
  },
  'keys list': {
    args: [],
    options: {},
    run: async (ctx) => {
      const k = await ctx.client.getKeys();
      ctx.print(k, () => keysText(k));
    },
  },
  'keys rotate': {
    args: [],
    options: {},
    run: async (ctx) => {
      const k = await ctx.client.rotateKeys();
      ctx.print(k, () => `rotated the fleet data keys\n${keysText(k)}`);
    },
  },
  audit: {
    args: [],
    options: { limit: str, before: str, target: str },
    run: async (ctx, v) => {
      const limit = s(v, 'limit');
      const before = s(v, 'before');
      const page = await ctx.client.listAudit({
        limit: limit === undefined ? undefined : integer(limit, '--limit', 1, 500),
        before:
          before === undefined
            ? undefined
            : integer(before, '--before', 1, Number.MAX_SAFE_INTEGER),
        target: s(v, 'target'),
      });
      ctx.print(
        page,
        () =>
          auditTable(page.items) +
          (page.nextBefore === null ? '' : `older entries: --before ${page.nextBefore}\n`),
      );
    },
  },
  health: {
    args: [],
    options: {},
    run: async (ctx) => {
      const h = await ctx.client.health();
      const check = (c: { ok: boolean; error?: string }): string =>
        c.ok ? 'ok' : `DOWN${c.error ? ` (${c.error})` : ''}`;
      ctx.print(h, () =>
        fields([
          ['status', h.status],
          ['database', `${check(h.database)}, ${h.database.type}`],
          ['broker', `${check(h.broker)}, ${h.broker.mode} ${h.broker.url}`],
        ]),
      );
      return h.status === 'ok' ? 0 : 1;
    },
  },

  'firmware upload': {
    args: ['FILE'],
    options: {},
    run: async (ctx, _v, [file]) => {
      let image: Buffer;
      try {
        image = readFileSync(file);
      } catch (err) {
        throw new UsageError(
          `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      const i = await ctx.client.uploadFirmware(image);
      ctx.print(i, () => firmwareTable([i]));
    },
  },
  'firmware list': {
    args: [],
    options: {},
    run: async (ctx) => {
      const items = await ctx.client.listFirmware();
      ctx.print(items, () => firmwareTable(items));
    },
  },
  'firmware install': {
    args: ['DEVICE', 'IMAGE-ID'],
    options: { ttl: str, watch: { type: 'boolean' }, timeout: str },
    run: async (ctx, v, [device, imageId]) => {
      const ttl = s(v, 'ttl');
      const timeout = s(v, 'timeout');
      const timeoutMs =
        (timeout === undefined ? 600 : integer(timeout, '--timeout', 1, 86_400)) * 1000;
      const u = await ctx.client.startFirmwareUpdate(device, {
        imageId,
        ...(ttl === undefined ? {} : { ttlSeconds: integer(ttl, '--ttl', 10, 3600) }),
      });
      if (!v.watch) return ctx.print(u, () => firmwareUpdateDetails(u));
      if (!ctx.json) ctx.io.out(`firmware update ${u.id} of ${device}: ${u.version}\n`);
      return watchFirmwareUpdate(ctx, device, u.id, timeoutMs, 1000);
    },
  },
  'firmware updates': {
    args: ['DEVICE'],
    options: {},
    run: async (ctx, _v, [device]) => {
      const items = await ctx.client.listFirmwareUpdates(device);
      ctx.print(items, () => firmwareUpdateTable(items));
    },
  },
  'firmware update': {
    args: ['DEVICE', 'UPDATE-ID'],
    options: {},
    run: async (ctx, _v, [device, id]) => {
      const u = await ctx.client.getFirmwareUpdate(device, id);
      ctx.print(u, () => firmwareUpdateDetails(u));
    },
  },
};

/** `firmware install --watch`: one line per change until the update ends or the time is up. */
async function watchFirmwareUpdate(
  ctx: Ctx,
  device: string,
  id: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const u = await ctx.client.getFirmwareUpdate(device, id);
    const line = firmwareUpdateLine(u);
    if (line !== last && !ctx.json) ctx.io.out(`${when(ctx.io.now().toISOString())}  ${line}\n`);
    last = line;
    if (!ACTIVE_FIRMWARE_UPDATE_STATUSES.includes(u.status)) {
      if (ctx.json) ctx.print(u, () => '');
      if (u.status === 'installed') return 0;
      ctx.io.err(`netmirror fleet: firmware update ${u.id} ${u.status}: ${u.message ?? '-'}\n`);
      return 1;
    }
    if (Date.now() + intervalMs > deadline) {
      if (ctx.json) ctx.print(u, () => '');
      ctx.io.err(
        `netmirror fleet: firmware update ${u.id} is still ${u.status} after ${timeoutMs / 1000} s (--timeout)\n`,
      );
      return 1;
    }
    await ctx.io.sleep(intervalMs);
  }
}

/** Command groups whose first word needs a second (`devices list`). */
const GROUPS = [
  ...new Set(
    Object.keys(COMMANDS)
      .filter((k) => k.includes(' '))
      .map((k) => k.split(' ')[0]),
  ),
];

/** `rollouts watch`: one line per change until the rollout ends or the time is up. */
async function watchRollout(
  ctx: Ctx,
  id: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await ctx.client.getRollout(id);
    const line = progressLine(r);
    if (line !== last && !ctx.json) ctx.io.out(`${when(ctx.io.now().toISOString())}  ${line}\n`);
    last = line;
    if (FINISHED_ROLLOUT_STATUSES.includes(r.status)) {
      if (ctx.json) ctx.print(r, () => '');
      if (r.status === 'completed') return 0;
      ctx.io.err(
        `netmirror fleet: rollout ${r.id} ${r.status}${r.reason ? `: ${r.reason}` : ''}\n`,
      );
      return 1;
    }
    if (Date.now() + intervalMs > deadline) {
      if (ctx.json) ctx.print(r, () => '');
      ctx.io.err(
        `netmirror fleet: rollout ${r.id} is still ${r.status} after ${timeoutMs / 1000} s (--timeout)\n`,
      );
      return 1;
    }
    await ctx.io.sleep(intervalMs);
  }
}

/** The parsed command line, or a usage problem. */
export interface ParsedCommand {
  name: string;
  command: Command;
  values: Values;
  args: string[];
  url: string;
  actor: string | undefined;
  json: boolean;
}

/**
 * Splits `[global options] WORD [WORD] [options and arguments]`; the global
 * options may also come after the command. Returns 'help' for --help.
 */
export function parseFleetArgs(
  argv: readonly string[],
  env: FleetIo['env'],
): ParsedCommand | { help: string } {
  // Global options before the command word(s).
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) {
    const a = argv[i];
    if (a === '--json' || a === '--help' || a === '-h' || /^--(url|actor)=/.test(a)) i += 1;
    else if (a === '--url' || a === '--actor') {
      if (argv[i + 1] === undefined) throw new UsageError(`${a} needs a value`);
      i += 2;
    } else throw new UsageError(`unknown option ${a} (global options: --url, --actor, --json)`);
  }
  const lead = argv.slice(0, Math.min(i, argv.length));
  const words: string[] = [];
  const first = argv[i];
  if (first === undefined || first === 'help') return { help: HELP };
  if (GROUPS.includes(first)) {
    const second = argv[i + 1];
    const known = Object.keys(COMMANDS).filter((k) => k.startsWith(`${first} `));
    if (second === undefined || second.startsWith('-')) {
      if (second === '--help' || second === '-h') return { help: HELP };
      throw new UsageError(`${first}: give one of ${known.map((k) => k.split(' ')[1]).join(', ')}`);
    }
    if (!COMMANDS[`${first} ${second}`])
      throw new UsageError(
        `unknown command "${first} ${second}" (${known.map((k) => k.split(' ')[1]).join(', ')})`,
      );
    words.push(first, second);
  } else if (COMMANDS[first]) {
    words.push(first);
  } else {
    throw new UsageError(`unknown command "${first}"`);
  }
  const name = words.join(' ');
  const command = COMMANDS[name];
  let parsed;
  try {
    parsed = parseArgs({
      args: [...lead, ...argv.slice(i + words.length)],
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message.split('\n')[0]}`);
  }
  const values = parsed.values as Values;
  if (values.help) return { help: HELP };
  const args = parsed.positionals;
  if (args.length !== command.args.length)
    throw new UsageError(
      `${name} takes ${command.args.length === 0 ? 'no arguments' : command.args.join(' ')}` +
        (args.length > command.args.length
          ? ` (extra: ${args.slice(command.args.length).join(' ')})`
          : ''),
    );
  const url = (values.url as string | undefined) ?? env.NETMIRROR_FLEET_URL ?? DEFAULT_FLEET_URL;
  const actor = (values.actor as string | undefined) ?? env.NETMIRROR_FLEET_ACTOR;
  if (actor !== undefined && !/^[\w.@:-]{1,100}$/.test(actor))
    throw new UsageError(`--actor ${actor}: 1..100 of letters, digits, _ . @ : -`);
  return { name, command, values, args, url, actor, json: values.json === true };
}

/** `netmirror fleet`: returns the exit code (0 ok, 1 API or network error, 2 usage). */
export async function runFleet(argv: string[], io: FleetIo = processIo): Promise<number> {
  let parsed: ParsedCommand | { help: string };
  let client: FleetClient;
  try {
    parsed = parseFleetArgs(argv, io.env);
    if ('help' in parsed) {
      io.out(parsed.help);
      return argv.length === 0 ? 2 : 0;
    }
    client = new FleetClient({ url: parsed.url, actor: parsed.actor });
  } catch (err) {
    if (err instanceof UsageError || err instanceof TypeError) return usage(io, err.message);
    throw err;
  }
  const json = parsed.json;
  const ctx: Ctx = {
    client,
    json,
    io,
    print: (data, human) => io.out(json ? JSON.stringify(data, null, 2) + '\n' : human()),
  };
  try {
    return (await parsed.command.run(ctx, parsed.values, parsed.args)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    if (err instanceof FleetApiError) {
      io.err(`netmirror fleet: ${parsed.name}: ${apiErrorLine(err)}\n`);
      return 1;
    }
    if (err instanceof FleetConnectionError) {
      io.err(`netmirror fleet: cannot reach ${err.url} (${err.reason})\n`);
      return 1;
    }
    throw err;
  }
}

function usage(io: FleetIo, message: string): number {
  io.err(`netmirror fleet: ${message}\n(netmirror fleet --help lists the commands)\n`);
  return 2;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
}
