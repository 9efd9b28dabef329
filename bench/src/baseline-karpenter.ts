import { isKarpenterExotic } from "@nodeplan/aws-provider";
import {
  type KarpenterProvisionInput,
  type KarpenterProvisionResult,
  karpenterProvision,
} from "@nodeplan/core";

/**
 * The benchmark's baseline: core's Karpenter provisioner (`karpenterProvision`, the `karpenter`
 * strategy's algorithm) with the AWS provider's launch-time exotic filter exactly as Karpenter's
 * (bare metal, GPUs, accelerators; not nodeplan's extra special-quota families), whatever the catalog
 * marks.
 */
export function karpenterBaseline(input: KarpenterProvisionInput): KarpenterProvisionResult {
  return karpenterProvision(input, { isExotic: isKarpenterExotic });
}
