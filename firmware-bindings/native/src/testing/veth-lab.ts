// A veth pair for tests (and benches) that need real frames on a real link:
// one end in the root namespace, the other in a network namespace of its own,
// both with IPv6 off and no address, so nothing but what the test sends
// crosses it. Frames are sent from inside the namespace by python3's raw
// AF_PACKET socket, one send() each. Needs root, ip and python3.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a command to completion (within timeoutMs) and returns its stdout; throws on failure. */
export function sh(cmd: string, args: string[], timeoutMs = 10_000): string {
  return execFileSync(cmd, args, {
    timeout: timeoutMs,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `sh` for clean-up: a failure (the thing is already gone) is ignored. */
export function quiet(cmd: string, args: string[]): void {
  try {
    sh(cmd, args);
  } catch {
    // already gone
  }
}

// Sends every frame of a file (u16 BE length, bytes)* out of argv[1], one
// send() each, then prints how many went. Bounded by the file's contents.
const SENDER = `
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
data = open(sys.argv[2], 'rb').read()
at = n = 0
while at < len(data):
    (l,) = struct.unpack_from('>H', data, at)
    s.send(data[at + 2:at + 2 + l])
    at += 2 + l
    n += 1
print(n)
`;

/** Sending many frames takes python a while. */
const SEND_TIMEOUT_MS = 20_000;

export interface VethPairOptions {
  /** Receive and transmit queues of each end (veth's default is 1). */
  queues?: number;
}

/**
 * Names are fixed at construction (so a test can use them at module level);
 * nothing exists until `create()`, and `remove()` deletes whatever was made.
 * With id "af": namespace `nm-af-TAG`, ends `nmafhTAG` (root) and `nmafpTAG`
 * (namespace), TAG being the pid and 4 random hex digits.
 */
export class VethLab {
  /** Unique per lab: pid (up to 5 digits) and 4 random hex digits. */
  readonly tag = `${process.pid % 100000}${randomBytes(2).toString('hex')}`;
  readonly ns: string;
  /** The root-namespace end: capture here. */
  readonly hostIf: string;
  /** The end inside `ns`: frames go out of it towards `hostIf`. */
  readonly peerIf: string;
  private tmp = '';
  private files = 0;
  private readonly links: string[] = [];
  private nsMade = false;

  /** `id`: a few letters naming the user, so interface names stay within 15 characters. */
  constructor(id: string) {
    this.ns = `nm-${id}-${this.tag}`;
    this.hostIf = `nm${id}h${this.tag}`;
    this.peerIf = `nm${id}p${this.tag}`;
    if (this.hostIf.length > 15) throw new RangeError(`VethLab: id "${id}" makes names too long`);
  }

  /** A temporary directory, removed with the lab (set by `create`). */
  get dir(): string {
    return this.tmp;
  }

  /** Makes the namespace (IPv6 off), the pair and a temporary directory; removes them all on failure. */
  create(): void {
    try {
      this.tmp = mkdtempSync(join(tmpdir(), `${this.ns}-`));
      sh('ip', ['netns', 'add', this.ns]);
      this.nsMade = true;
      sh('ip', [
        'netns',
        'exec',
        this.ns,
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
      ]);
      this.addPair(this.hostIf, this.peerIf);
    } catch (e) {
      this.remove();
      throw e;
    }
  }

  /**
   * A veth pair, `hostIf` in the root namespace (IPv6 off) and `peerIf` in
   * the lab's, both up; `create` makes the first. Removed with the lab.
   */
  addPair(hostIf: string, peerIf: string, options: VethPairOptions = {}): void {
    const queues = options.queues
      ? ['numtxqueues', `${options.queues}`, 'numrxqueues', `${options.queues}`]
      : [];
    sh('ip', [
      'link',
      'add',
      hostIf,
      ...queues,
      'type',
      'veth',
      'peer',
      'name',
      peerIf,
      'netns',
      this.ns,
    ]);
    this.links.push(hostIf);
    sh('sysctl', ['-q', '-w', `net.ipv6.conf.${hostIf}.disable_ipv6=1`]);
    sh('ip', ['link', 'set', hostIf, 'up']);
    sh('ip', ['-n', this.ns, 'link', 'set', peerIf, 'up']);
  }

  /** Writes frames to a new file in the sender's format, (u16 BE length, bytes)*; returns its path. */
  framesFile(frames: readonly Buffer[]): string {
    const file = join(this.tmp, `frames-${this.files++}.bin`);
    writeFileSync(
      file,
      Buffer.concat(frames.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 0xff]), p])),
    );
    return file;
  }

  /** Sends a `framesFile` out of `peerIf`, blocking this thread until python is done; returns how many went. */
  sendFile(file: string): number {
    const sent = sh(
      'ip',
      ['netns', 'exec', this.ns, 'python3', '-c', SENDER, this.peerIf, file],
      SEND_TIMEOUT_MS,
    );
    return Number(sent.trim());
  }

  /** Sends frames out of `peerIf`, blocking this thread meanwhile; returns how many went. */
  send(frames: readonly Buffer[]): number {
    return this.sendFile(this.framesFile(frames));
  }

  /** Sends frames out of `peerIf` while the event loop runs; resolves with how many went. */
  sendAsync(frames: readonly Buffer[]): Promise<number> {
    const file = this.framesFile(frames);
    return new Promise((resolve, reject) =>
      execFile(
        'ip',
        ['netns', 'exec', this.ns, 'python3', '-c', SENDER, this.peerIf, file],
        { timeout: SEND_TIMEOUT_MS },
        (err, stdout) => (err ? reject(err) : resolve(Number(String(stdout).trim()))),
      ),
    );
  }

  /** Deletes the pairs, the namespace and the directory; safe to call twice or after a failed `create`. */
  remove(): void {
    for (const link of this.links.splice(0)) quiet('ip', ['link', 'del', link]);
    if (this.nsMade) quiet('ip', ['netns', 'del', this.ns]);
    this.nsMade = false;
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    this.tmp = '';
  }
}
