import { runAgent } from './agent.js';
import { runFleet } from './fleet.js';
import { runMirror } from './mirror.js';
import { runProvision } from './provision.js';

const USAGE = `netmirror — network mirroring: capture, filter by rules, deliver copies

Usage:
  netmirror mirror --from SOURCE [--filter EXPR] [--rules FILE] --to DEST [--to DEST ...]
                   [--speed X | --pps N] [--stats-json FILE] [--quiet]
  netmirror agent --config FILE
  netmirror fleet [--url URL] [--actor NAME] [--json] COMMAND   (netmirror fleet --help)
  netmirror provision --port SERIALPORT [...]   (the technician's tool; netmirror provision --help)
  netmirror help

Sources:       pcap:PATH (pcap or pcapng, sniffed)
Destinations:  pcap:PATH  pcapng:PATH  vxlan://HOST[:PORT]?vni=N  gre://HOST[?key=N]
               erspan2://HOST?session=N  erspan3://HOST?session=N  tzsp://HOST[:PORT]
               (name one with NAME=URI to refer to it from a rules file)
`;

/** Entry point of the \`netmirror\` command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'mirror':
      return runMirror(rest);
    case 'agent':
      return runAgent(rest);
    case 'fleet':
      return runFleet(rest);
    case 'provision':
      return runProvision(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`netmirror: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
