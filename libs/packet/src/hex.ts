/**
 * Turns an annotated hex dump into bytes, for fixtures in tests:
 *
 *   hex`45 00 00 3c  // v4 ihl=5 len=60
 *       1c 46 40 00`
 *
 * `//` starts a comment to the end of the line; everything else must be hex
 * digits and white space. Usable as a tagged template or a plain function.
 */
export function hex(strings: TemplateStringsArray | string, ...values: unknown[]): Buffer {
  const text =
    typeof strings === 'string'
      ? strings
      : strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const digits = text
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits) || digits.length % 2 !== 0) {
    throw new Error(`hex: not an even run of hex digits: ${digits.slice(0, 40)}`);
  }
  return Buffer.from(digits, 'hex');
}
