import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as resolver from 'aws-cdk-lib/aws-route53resolver';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SandboxNetworkProps {
  /** The workspaces bucket: the only thing reachable from the network, through its endpoint. */
  workspaces: s3.IBucket;
  logRetentionDays: number;
}

/**
 * Where `run` and the checks execute on AWS without network (decision 0005): a VPC of isolated
 * subnets (no internet gateway, no NAT) in two zones whose only way out is an S3 gateway endpoint
 * limited by its policy to the workspaces bucket's objects (the presigned URLs of a job), and a
 * security group that allows HTTPS out and nothing in. Free of hourly charges: no NAT gateway,
 * no interface endpoint. Flow logs record rejected traffic (a command trying to get out). Names
 * resolve only for S3: a Route 53 Resolver DNS Firewall answers every other lookup with no data,
 * so a command cannot carry data out in the names it looks up.
 */
export class SandboxNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly securityGroup: ec2.SecurityGroup;
  readonly subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

  constructor(scope: Construct, id: string, props: SandboxNetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/20'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'sandbox', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      restrictDefaultSecurityGroup: false,
    });
    const endpoint = this.vpc.addGatewayEndpoint('S3', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.subnets],
    });
    // Without this, a command could upload to any bucket in the region through the endpoint.
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.workspaces.arnForObjects('*')],
      }),
    );
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'Code Factory sandbox: HTTPS out (only S3 is routed), nothing in',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'S3 through the gateway endpoint',
    );
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    const region = Stack.of(this).region;
    const s3Names = new resolver.CfnFirewallDomainList(this, 'S3Names', {
      name: 'code-factory-sandbox-s3',
      domains: [
        `s3.${region}.amazonaws.com`,
        `*.s3.${region}.amazonaws.com`,
        's3.amazonaws.com',
        '*.s3.amazonaws.com',
      ],
    });
    const everyName = new resolver.CfnFirewallDomainList(this, 'EveryName', {
      name: 'code-factory-sandbox-all',
      domains: ['*'],
    });
    const rules = new resolver.CfnFirewallRuleGroup(this, 'DnsFirewall', {
      name: 'code-factory-sandbox',
      firewallRules: [
        { firewallDomainListId: s3Names.attrId, priority: 100, action: 'ALLOW' },
        { firewallDomainListId: everyName.attrId, priority: 200, action: 'BLOCK', blockResponse: 'NODATA' },
      ],
    });
    new resolver.CfnFirewallRuleGroupAssociation(this, 'DnsFirewallAssociation', {
      firewallRuleGroupId: rules.attrId,
      vpcId: this.vpc.vpcId,
      priority: 101,
      name: 'code-factory-sandbox',
    });
    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'No inbound rule at all; the only rule is HTTPS out, which the routes limit to the S3 endpoint.',
    });
  }
}
