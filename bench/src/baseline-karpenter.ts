import { isKarpenterExotic } from "@nodeplan/aws-provider";
import {
  type KarpenterProvisionInput,
  type KarpenterProvisionResult,
  karpenterProvisionSummary,
} from "@nodeplan/core";

/**
 * The benchmark's baseline: core's Karpenter provisioner (`karpenterProvisionSummary`: the solve of
 * `karpenterProvision`, the `karpenter` strategy's algorithm, priced without building the Plan) with the AWS provider's launch-time exotic filter exactly as Karpenter's
 * (bare metal, GPUs, accelerators; not nodeplan's extra special-quota families), whatever the catalog
 * marks.
 */
export function karpenterBaseline(input: KarpenterProvisionInput): KarpenterProvisionResult {
  return karpenterProvisionSummary(input, { isExotic: isKarpenterExotic });
}
