/**
 * The byte layout of a filter-table bank: entry i at i * entryBytes holds
 * the key (keyBytes), the mask (keyBytes), then the TCAM_ACTION word
 * (little-endian, like every word on the link). Key fields are packed in
 * profile order from the most significant bit of the key's first byte
 * (big-endian bit order: a field reads in a hex dump as it would on the
 * wire); bits after the last field are zero.
 */
import type { TcamEntry, TcamField, TcamTarget, Ternary } from '@netmirror/rules';
import { decodeTcamAction, encodeTcamAction } from './generated/regmap.js';
import type { BoardProfile, KeyFieldName } from './profiles.js';
import { monitorPorts, tcamGeometry } from './profiles.js';

export interface KeyFieldSlot {
  field: KeyFieldName;
  bits: number;
  /** Bit offset from the key's most significant bit. */
  offset: number;
}

export function keyLayout(profile: BoardProfile): KeyFieldSlot[] {
  let offset = 0;
  return profile.tcam.key.map((f) => {
    const slot = { field: f.field, bits: f.bits, offset };
    offset += f.bits;
    return slot;
  });
}

/** The rules compiler's view of a board: its key fields, table size and slicing. */
export function tcamTarget(profile: BoardProfile, outPorts: TcamTarget['outPorts']): TcamTarget {
  const fields: Partial<Record<TcamField, number>> = {};
  for (const f of profile.tcam.key) fields[f.field] = f.bits;
  return {
    name: `the ${profile.id} board`,
    entries: profile.tcam.entries,
    fields,
    slicing: profile.slicing,
    outPorts,
  };
}

/** A whole bank image: the entries in order, the rest of the table invalid (all zero). */
export function encodeTcamBank(entries: readonly TcamEntry[], profile: BoardProfile): Buffer {
  const g = tcamGeometry(profile);
  if (entries.length > profile.tcam.entries)
    throw new RangeError(`${entries.length} entries for a ${profile.tcam.entries}-entry table`);
  const monitors = monitorPorts(profile).length;
  const layout = keyLayout(profile);
  const bank = Buffer.alloc(g.bankBytes);
  entries.forEach((e, i) => {
    const at = i * g.entryBytes;
    for (const slot of layout) {
      const t: Ternary | undefined = e.match[slot.field];
      if (!t) continue;
      setBits(bank, at, slot.offset, slot.bits, t.value & t.mask);
      setBits(bank, at + g.keyBytes, slot.offset, slot.bits, t.mask);
    }
    if (e.outPorts >>> monitors !== 0)
      throw new RangeError(
        `entry ${i}: out ports ${e.outPorts.toString(2)} beyond ${monitors} monitor ports`,
      );
    const action = encodeTcamAction({
      valid: 1,
      copy: e.copy ? 1 : 0,
      outPorts: e.outPorts,
      slice: e.slice,
    });
    bank.writeUInt32LE(action, at + 2 * g.keyBytes);
  });
  return bank;
}

/** Writes the low `width` bits of `value` at bit `offset` of the key starting at `buf[at]`. */
export function setBits(
  buf: Uint8Array,
  at: number,
  offset: number,
  width: number,
  value: bigint,
): void {
  for (let i = 0; i < width; i++) {
    const bit = Number((value >> BigInt(width - 1 - i)) & 1n);
    const pos = offset + i;
    const byte = at + (pos >>> 3);
    const m = 0x80 >>> (pos & 7);
    buf[byte] = bit ? buf[byte] | m : buf[byte] & ~m;
  }
}

/** Reads `width` bits at bit `offset` of the key starting at `buf[at]`. */
export function getBits(buf: Uint8Array, at: number, offset: number, width: number): bigint {
  let v = 0n;
  for (let i = 0; i < width; i++) {
    const pos = offset + i;
    v = (v << 1n) | BigInt((buf[at + (pos >>> 3)] >>> (7 - (pos & 7))) & 1);
  }
  return v;
}

export interface DecodedEntry {
  index: number;
  valid: boolean;
  copy: boolean;
  outPorts: number;
  slice: number;
  /** Fields with a non-zero mask. */
  match: Partial<Record<KeyFieldName, Ternary>>;
}

/** Entry `index` of a bank image, as fields (for verification messages and tests). */
export function decodeTcamEntry(
  bank: Uint8Array,
  index: number,
  profile: BoardProfile,
): DecodedEntry {
  const g = tcamGeometry(profile);
  const at = index * g.entryBytes;
  const view = Buffer.from(bank.buffer, bank.byteOffset, bank.byteLength);
  const action = decodeTcamAction(view.readUInt32LE(at + 2 * g.keyBytes));
  const match: Partial<Record<KeyFieldName, Ternary>> = {};
  for (const slot of keyLayout(profile)) {
    const mask = getBits(bank, at + g.keyBytes, slot.offset, slot.bits);
    if (mask !== 0n) match[slot.field] = { value: getBits(bank, at, slot.offset, slot.bits), mask };
  }
  return {
    index,
    valid: action.valid === 1,
    copy: action.copy === 1,
    outPorts: action.outPorts,
    slice: action.slice,
    match,
  };
}
