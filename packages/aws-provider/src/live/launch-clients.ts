import type {
  CreateFleetCommand,
  CreateFleetCommandOutput,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateCommandOutput,
  DeleteLaunchTemplateCommand,
  DeleteLaunchTemplateCommandOutput,
  DescribeImagesCommand,
  DescribeImagesCommandOutput,
  DescribeInstancesCommand,
  DescribeInstancesCommandOutput,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplatesCommandOutput,
  DescribeSecurityGroupsCommand,
  DescribeSecurityGroupsCommandOutput,
  DescribeSubnetsCommand,
  DescribeSubnetsCommandOutput,
  TerminateInstancesCommand,
  TerminateInstancesCommandOutput,
} from "@aws-sdk/client-ec2";
import type {
  DeleteMessageCommand,
  DeleteMessageCommandOutput,
  ReceiveMessageCommand,
  ReceiveMessageCommandOutput,
} from "@aws-sdk/client-sqs";
import type { GetParameterCommand, GetParameterCommandOutput } from "@aws-sdk/client-ssm";

/**
 * The AWS calls of launching, interruption and drift, typed as just what this provider sends (as
 * Karpenter's sdk.go does): a real EC2Client / SSMClient / SQSClient fits, a fake stays small.
 */

/** EC2 calls that resolve a node class: subnets, security groups, images. */
export interface Ec2ResolveApi {
  send(command: DescribeSubnetsCommand): Promise<DescribeSubnetsCommandOutput>;
  send(command: DescribeSecurityGroupsCommand): Promise<DescribeSecurityGroupsCommandOutput>;
  send(command: DescribeImagesCommand): Promise<DescribeImagesCommandOutput>;
}

/** EC2 calls of launch templates. */
export interface Ec2LaunchTemplateApi {
  send(command: DescribeLaunchTemplatesCommand): Promise<DescribeLaunchTemplatesCommandOutput>;
  send(command: CreateLaunchTemplateCommand): Promise<CreateLaunchTemplateCommandOutput>;
  send(command: DeleteLaunchTemplateCommand): Promise<DeleteLaunchTemplateCommandOutput>;
}

/** Every EC2 call of the launcher. */
export interface Ec2LaunchApi extends Ec2ResolveApi, Ec2LaunchTemplateApi {
  send(command: DescribeSubnetsCommand): Promise<DescribeSubnetsCommandOutput>;
  send(command: DescribeSecurityGroupsCommand): Promise<DescribeSecurityGroupsCommandOutput>;
  send(command: DescribeImagesCommand): Promise<DescribeImagesCommandOutput>;
  send(command: DescribeLaunchTemplatesCommand): Promise<DescribeLaunchTemplatesCommandOutput>;
  send(command: CreateLaunchTemplateCommand): Promise<CreateLaunchTemplateCommandOutput>;
  send(command: DeleteLaunchTemplateCommand): Promise<DeleteLaunchTemplateCommandOutput>;
  send(command: CreateFleetCommand): Promise<CreateFleetCommandOutput>;
  send(command: DescribeInstancesCommand): Promise<DescribeInstancesCommandOutput>;
  send(command: TerminateInstancesCommand): Promise<TerminateInstancesCommandOutput>;
}

/** The SSM call of AMI aliases and ssmParameter terms. */
export interface SsmApi {
  send(command: GetParameterCommand): Promise<GetParameterCommandOutput>;
}

/** The SQS calls of the interruption queue. */
export interface SqsApi {
  send(
    command: ReceiveMessageCommand,
    options?: { abortSignal?: AbortSignal },
  ): Promise<ReceiveMessageCommandOutput>;
  send(command: DeleteMessageCommand): Promise<DeleteMessageCommandOutput>;
}

/** The error code of an AWS SDK error (`name`, or `Code` of older shapes), if any. */
export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { name?: unknown; Code?: unknown };
  if (typeof e.Code === "string") return e.Code;
  return typeof e.name === "string" ? e.name : undefined;
}
