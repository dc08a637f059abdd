#!/usr/bin/env node
// Issues a server certificate for an external MQTT broker from the fleet CA
// kept in the fleet manager's database, and writes what Mosquitto needs
// (apps/fleet-manager/deploy/mosquitto/): ca.pem, server.pem, server.key.
//
//   node tools/fleet-ca/issue-broker-cert.mjs --database sqlite:/var/lib/netmirror/fleet.db \
//     --host mqtt.example.net --host 10.0.0.5 --out /etc/mosquitto/netmirror
//
// Needs read access to the database (which holds the CA key): run it where the
// fleet manager runs, as its user. Build first (npx tsc -b).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueBrokerCertificate } from '@netmirror/fleet-manager';

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    host: { type: 'string', multiple: true },
    out: { type: 'string' },
    days: { type: 'string', default: '397' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || !values.database || !values.host?.length || !values.out) {
  console.error(
    'usage: issue-broker-cert.mjs --database URL --host NAME [--host NAME ...] --out DIR [--days N]',
  );
  process.exit(values.help ? 0 : 2);
}
const cert = await issueBrokerCertificate(values.database, values.host, Number(values.days));
mkdirSync(values.out, { recursive: true });
writeFileSync(
  join(values.out, 'ca.pem'),
  cert.caPem.endsWith('\n') ? cert.caPem : `${cert.caPem}\n`,
);
writeFileSync(join(values.out, 'server.pem'), `${cert.certificatePem.trimEnd()}\n`);
writeFileSync(join(values.out, 'server.key'), cert.privateKeyPem, { mode: 0o600 });
chmodSync(join(values.out, 'server.key'), 0o600);
console.log(
  `wrote ca.pem, server.pem, server.key to ${values.out} (${values.host.join(', ')}; valid until ${cert.notAfter.toISOString()})`,
);
