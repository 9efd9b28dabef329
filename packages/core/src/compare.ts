/**
 * Orders strings by UTF-16 code unit, never by locale: the one tie-break every plan uses, so that the
 * same input gives the same plan byte for byte on every machine.
 */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
