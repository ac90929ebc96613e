import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { SandboxRegistry } from '../../functions/shared/domain/registries';
import { SANDBOX_MEMORY_MB } from '../../functions/shared/domain/sandbox-price';
import { FactoryFunction } from './node-function';
import type { SandboxNetwork } from './sandbox-network';

/** Lambda's maximum: one sandbox job (its commands run concurrently, each at most 900 s). */
export const SANDBOX_TIMEOUT = Duration.seconds(900);

/** What Lambda needs to attach a function to its subnets (it calls EC2 with the function's role). */
const ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

export interface SandboxFunctionProps {
  entry: string;
  logRetentionDays: number;
  description: string;
  /** In the sandbox network (no way out but the workspaces bucket), or outside with internet. */
  network?: SandboxNetwork;
  /** The setup function: runs `environment.setup` with these registries' tokens. */
  setup?: { registries: SandboxRegistry[] };
}

/**
 * One sandbox function (decision 0005): runs the agent's commands, or `environment.setup`, on a
 * copy of the workspace it fetches through presigned URLs. Its role can write its own logs and
 * traces and nothing else of the factory: no table, bucket, queue or state machine. The setup
 * function alone may read the configured registry secrets, and only it learns their names. In the
 * network, Lambda may manage the function's network interfaces; the function's own code may not
 * (calls from inside carry `lambda:SourceFunctionArn`, which the deny matches).
 */
export class SandboxFunction extends Construct {
  readonly function: FactoryFunction;

  constructor(scope: Construct, id: string, props: SandboxFunctionProps) {
    super(scope, id);
    const registries = props.setup?.registries ?? [];
    this.function = new FactoryFunction(this, 'Sandbox', {
      entry: props.entry,
      description: props.description,
      // CPU scales with memory: builds and test runs want it. The default sandbox price follows it.
      memorySize: SANDBOX_MEMORY_MB,
      timeout: SANDBOX_TIMEOUT,
      logRetentionDays: props.logRetentionDays,
      serviceName: 'sandbox',
      ephemeralStorageMb: 4096,
      ...(props.network
        ? {
            vpc: {
              vpc: props.network.vpc,
              subnets: props.network.subnets,
              securityGroups: [props.network.securityGroup],
            },
          }
        : {}),
      environment: {
        SANDBOX_SETUP_MODE: props.setup ? 'run' : 'cached',
        ...(registries.length > 0 ? { SANDBOX_REGISTRIES: JSON.stringify(registries) } : {}),
      },
    });
    const role = this.function.role;
    if (registries.length > 0)
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: registries.map((registry) => registry.secretId),
        }),
      );
    if (props.network) {
      const eni = new iam.Policy(this, 'NetworkInterfaces', {
        roles: [role],
        statements: [
          new iam.PolicyStatement({ actions: ENI_ACTIONS, resources: ['*'] }),
          new iam.PolicyStatement({
            effect: iam.Effect.DENY,
            actions: ENI_ACTIONS,
            resources: ['*'],
            conditions: { Null: { 'lambda:SourceFunctionArn': 'false' } },
          }),
        ],
      });
      this.function.fn.node.addDependency(eni);
      Validations.of(eni).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Lambda attaches the function to its subnets with these EC2 actions, which need "*" (DescribeNetworkInterfaces supports no resource); the deny keeps the function\'s own code from using them.',
      });
    }
  }
}
