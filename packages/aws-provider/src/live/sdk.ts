import * as ec2 from "@aws-sdk/client-ec2";
import * as pricing from "@aws-sdk/client-pricing";

/** @aws-sdk/client-ec2 (EC2Client and the Describe* commands), in one place for the live calls. */
export const ec2Sdk = ec2;
/** @aws-sdk/client-pricing (PricingClient and GetProductsCommand). */
export const pricingSdk = pricing;
