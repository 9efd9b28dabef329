import {
  formatQuantity,
  type InputError,
  type IssuePath,
  parseQuantity,
  type QuantityKind,
} from "@nodeplan/core";

/**
 * Kubernetes quantities for the EC2NodeClass fields the instance math reads (kubelet reservations,
 * eviction thresholds, EBS volume sizes): thin adapters over core's exact parser, in the shapes the
 * instance math wants.
 */

/** What a quantity measures: `cpu` in millicores, `bytes`, or a plain `count`. */
export type QuantityUnit = QuantityKind;

/** Parses a non-negative quantity into an integer of `unit`; undefined when it is not one. */
export function parseQuantityValue(input: string | number, unit: QuantityUnit): number | undefined {
  const r = parseQuantity(input, unit);
  return r.ok ? r.value : undefined;
}

/** Like `parseQuantityValue`, but reports the InputError at `path`. */
export function parseQuantityAt(
  input: string | number,
  unit: QuantityUnit,
  path: IssuePath,
): { ok: true; value: number } | { ok: false; error: InputError } {
  return parseQuantity(input, unit, path);
}

/** Formats an integer of `unit` as a short Kubernetes quantity that parses back to the same value. */
export function formatQuantityValue(value: number, unit: QuantityUnit): string {
  return formatQuantity(value, unit);
}
