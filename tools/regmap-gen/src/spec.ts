/**
 * The register map spec (firmware-bindings/fpga/regmap.json): its shape, and
 * a validator that reports every problem at once, naming where it is.
 */

export type Access = 'ro' | 'rw' | 'wsc';

export interface FieldSpec {
  name: string;
  lsb: number;
  width: number;
  /** Defaults to the register's access. */
  access?: Access;
  enum?: Record<string, number>;
  description?: string;
}

export interface RegisterSpec {
  name: string;
  /** Hex string ("0x0010"): the spec is written for people who think in hex. */
  address: string;
  access: Access;
  description: string;
  fields?: FieldSpec[];
}

export interface TableSpec {
  name: string;
  id: number;
  access: 'ro' | 'rw';
  /** Registers whose product is the table's size in bytes. */
  sizeRegisters: string[];
  description: string;
}

export interface CounterBlockSpec {
  name: string;
  id: number;
  description: string;
  /** Counters per element (port, entry), in index order. */
  counters: string[];
}

export interface StructSpec {
  name: string;
  description: string;
  fields: FieldSpec[];
}

export interface RegmapSpec {
  name: string;
  /** "MAJOR.MINOR". */
  version: string;
  description: string;
  registers: RegisterSpec[];
  tables: TableSpec[];
  counterBlocks: CounterBlockSpec[];
  structs: StructSpec[];
}

const NAME = /^[A-Z][A-Z0-9_]*$/;
const ACCESS = new Set<Access>(['ro', 'rw', 'wsc']);

/** Problems in `spec`, each "where: what" (empty when it is sound). */
export function validateSpec(spec: RegmapSpec): string[] {
  const errors: string[] = [];
  if (typeof spec.name !== 'string' || spec.name === '') errors.push('name: missing');
  if (!/^\d+\.\d+$/.test(String(spec.version)))
    errors.push(`version: "${spec.version}" is not MAJOR.MINOR`);
  if (!Array.isArray(spec.registers)) return [...errors, 'registers: missing'];
  errors.push(...checkRegisters(spec.registers));
  const regNames = new Set(spec.registers.map((r) => r.name));
  errors.push(...checkIds('tables', spec.tables ?? [], 1, 255));
  for (const t of spec.tables ?? []) {
    if (t.access !== 'ro' && t.access !== 'rw')
      errors.push(`tables.${t.name}: access must be ro or rw`);
    for (const r of t.sizeRegisters ?? [])
      if (!regNames.has(r)) errors.push(`tables.${t.name}: size register ${r} is not in the map`);
    if (!t.sizeRegisters?.length) errors.push(`tables.${t.name}: sizeRegisters is empty`);
  }
  errors.push(...checkIds('counterBlocks', spec.counterBlocks ?? [], 1, 255));
  for (const b of spec.counterBlocks ?? []) {
    if (!b.counters?.length) errors.push(`counterBlocks.${b.name}: no counters`);
    errors.push(...duplicates(`counterBlocks.${b.name}`, b.counters ?? []));
    for (const c of b.counters ?? [])
      if (!NAME.test(c))
        errors.push(`counterBlocks.${b.name}: counter name "${c}" is not UPPER_SNAKE`);
  }
  errors.push(
    ...duplicates(
      'structs',
      (spec.structs ?? []).map((s) => s.name),
    ),
  );
  for (const s of spec.structs ?? []) {
    if (!NAME.test(s.name)) errors.push(`structs.${s.name}: name is not UPPER_SNAKE`);
    errors.push(...checkFields(`structs.${s.name}`, s.fields ?? [], 'rw'));
  }
  return errors;
}

function checkRegisters(registers: RegisterSpec[]): string[] {
  const errors: string[] = [];
  errors.push(
    ...duplicates(
      'registers',
      registers.map((r) => r.name),
    ),
  );
  const byAddress = new Map<number, string>();
  for (const r of registers) {
    const where = `registers.${r.name}`;
    if (!NAME.test(r.name)) errors.push(`${where}: name is not UPPER_SNAKE`);
    if (!ACCESS.has(r.access)) errors.push(`${where}: access "${r.access}" is not ro, rw or wsc`);
    if (!r.description) errors.push(`${where}: no description`);
    const address = parseAddress(r.address);
    if (address === null) {
      errors.push(`${where}: address "${r.address}" is not a hex number`);
      continue;
    }
    if (address % 4 !== 0) errors.push(`${where}: address ${r.address} is not a multiple of 4`);
    const other = byAddress.get(address);
    if (other !== undefined) errors.push(`${where}: address ${r.address} is also ${other}'s`);
    byAddress.set(address, r.name);
    errors.push(...checkFields(where, r.fields ?? [], r.access));
  }
  return errors;
}

function checkFields(where: string, fields: FieldSpec[], access: Access): string[] {
  const errors: string[] = [];
  errors.push(
    ...duplicates(
      where,
      fields.map((f) => f.name),
    ),
  );
  let used = 0;
  for (const f of fields) {
    const at = `${where}.${f.name}`;
    if (!NAME.test(f.name)) errors.push(`${at}: name is not UPPER_SNAKE`);
    if (!Number.isInteger(f.lsb) || !Number.isInteger(f.width) || f.width < 1 || f.lsb < 0) {
      errors.push(`${at}: lsb ${f.lsb} / width ${f.width} are not a bit range`);
      continue;
    }
    if (f.lsb + f.width > 32)
      errors.push(`${at}: bits ${f.lsb}..${f.lsb + f.width - 1} run past bit 31`);
    const bits = f.width === 32 ? 0xffffffff : ((1 << f.width) - 1) << f.lsb;
    if ((used & bits) !== 0) errors.push(`${at}: overlaps another field`);
    used |= bits;
    if (f.access !== undefined && !ACCESS.has(f.access))
      errors.push(`${at}: access "${f.access}" is not ro, rw or wsc`);
    if (f.access !== undefined && access === 'ro' && f.access !== 'ro')
      errors.push(`${at}: a field of a read-only register cannot be ${f.access}`);
    for (const [name, value] of Object.entries(f.enum ?? {})) {
      if (!NAME.test(name)) errors.push(`${at}: enum name "${name}" is not UPPER_SNAKE`);
      if (!Number.isInteger(value) || value < 0 || value >= 2 ** f.width)
        errors.push(`${at}: enum ${name} = ${value} does not fit ${f.width} bits`);
    }
    errors.push(...duplicates(`${at} enum values`, Object.values(f.enum ?? {}).map(String)));
  }
  return errors;
}

function checkIds(
  where: string,
  items: { name: string; id: number }[],
  min: number,
  max: number,
): string[] {
  const errors = duplicates(
    where,
    items.map((i) => i.name),
  );
  errors.push(
    ...duplicates(
      `${where} ids`,
      items.map((i) => String(i.id)),
    ),
  );
  for (const i of items) {
    if (!NAME.test(i.name)) errors.push(`${where}.${i.name}: name is not UPPER_SNAKE`);
    if (!Number.isInteger(i.id) || i.id < min || i.id > max)
      errors.push(`${where}.${i.name}: id ${i.id} is not in ${min}..${max}`);
  }
  return errors;
}

function duplicates(where: string, names: string[]): string[] {
  const seen = new Set<string>();
  const errors: string[] = [];
  for (const n of names) {
    if (seen.has(n)) errors.push(`${where}: "${n}" appears twice`);
    seen.add(n);
  }
  return errors;
}

/** "0x0010" → 16; null when it is not a hex literal. */
export function parseAddress(text: string): number | null {
  return /^0x[0-9a-fA-F]{1,8}$/.test(text) ? Number.parseInt(text.slice(2), 16) : null;
}
