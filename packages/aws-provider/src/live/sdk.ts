import * as ec2 from "@aws-sdk/client-ec2";
import * as pricing from "@aws-sdk/client-pricing";
import * as sqs from "@aws-sdk/client-sqs";
import * as ssm from "@aws-sdk/client-ssm";

/** @aws-sdk/client-ec2 (EC2Client and the Describe* commands), in one place for the live calls. */
export const ec2Sdk = ec2;
/** @aws-sdk/client-pricing (PricingClient and GetProductsCommand). */
export const pricingSdk = pricing;
/** @aws-sdk/client-ssm (SSMClient and GetParameter: AMI aliases). */
export const ssmSdk = ssm;
/** @aws-sdk/client-sqs (SQSClient: the interruption queue). */
export const sqsSdk = sqs;
