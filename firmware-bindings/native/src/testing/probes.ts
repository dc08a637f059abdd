// Sequence-numbered probe frames: to a MAC nobody owns (so nothing replies),
// untagged, 802.1Q, QinQ (802.1ad outer) or double 802.1Q by sequence number,
// with a local experimental EtherType, a magic number that tells one test's
// probes from any other traffic, and the sequence number after it.

export type ProbeKind = 'untagged' | 'dot1q' | 'qinq' | 'dot1q-dot1q';
const KINDS: readonly ProbeKind[] = ['untagged', 'dot1q', 'qinq', 'dot1q-dot1q'];

/** The tags of probe i: by i % 4. */
export function probeKind(i: number): ProbeKind {
  return KINDS[i % 4];
}

const ETHERTYPE = 0x88b5; // local experimental

export interface ProbeKit {
  /** Probe i as it goes on the wire: tags by i % 4, payload 46..1400 bytes unless given, seq inside. */
  probe(i: number, payloadLen?: number): Buffer;
  /** The sequence number of a frame as on the wire (tags inline), or -1 if it is not one of these probes. */
  seqOf(wire: Uint8Array): number;
}

/**
 * Probes carrying `magic`, from `mac`:02 to `mac`:01, `mac` being the first
 * five bytes of a locally administered address, e.g. "02005e000a".
 */
export function probeKit(magic: number, mac: string): ProbeKit {
  const dst = Buffer.from(`${mac}01`, 'hex');
  const src = Buffer.from(`${mac}02`, 'hex');
  const tagOf = (tpid: number, tci: number): Buffer => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(tpid, 0);
    t.writeUInt16BE(tci, 2);
    return t;
  };
  return {
    probe(i, payloadLen = 46 + ((i * 131) % 1355)) {
      const kind = probeKind(i);
      const vid = 1 + ((i * 37) % 4094);
      const pcp = i % 8;
      const tags: Buffer[] = [];
      if (kind === 'dot1q') tags.push(tagOf(0x8100, (pcp << 13) | vid));
      if (kind === 'qinq')
        tags.push(tagOf(0x88a8, (pcp << 13) | vid), tagOf(0x8100, 100 + (i % 50)));
      if (kind === 'dot1q-dot1q') tags.push(tagOf(0x8100, vid), tagOf(0x8100, 200 + (i % 50)));
      const payload = Buffer.alloc(payloadLen);
      payload.writeUInt16BE(ETHERTYPE, 0);
      payload.writeUInt32BE(magic, 2);
      payload.writeUInt32BE(i, 6);
      for (let j = 10; j < payload.length; j++) payload[j] = (i + j * 7) & 0xff;
      return Buffer.concat([dst, src, ...tags, payload]);
    },
    seqOf(wire) {
      const b = Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength);
      let at = 12;
      for (let k = 0; k < 3 && at + 2 <= b.length; k++) {
        const type = b.readUInt16BE(at);
        if (type === 0x8100 || type === 0x88a8) at += 4;
        else break;
      }
      if (
        at + 10 > b.length ||
        b.readUInt16BE(at) !== ETHERTYPE ||
        b.readUInt32BE(at + 2) !== magic
      )
        return -1;
      return b.readUInt32BE(at + 6);
    },
  };
}
