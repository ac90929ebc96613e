import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/**
 * What a state machine's role needs to deliver its logs and traces. Log delivery and X-Ray accept
 * no resource-level permissions: their "*" statements live in a policy of their own, so
 * acknowledging them cannot hide a wildcard among the role's other grants.
 */
export function stateMachineObservability(scope: Construct, role: iam.IRole): iam.Policy {
  const policy = new iam.Policy(scope, 'ObservabilityPolicy', {
    roles: [role],
    statements: [
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        actions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        resources: ['*'],
      }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'CloudWatch Logs vended log delivery (Create/Get/Update/DeleteLogDelivery, resource policies) and X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* have no resource-level permissions; AWS requires "*".',
  });
  return policy;
}

/**
 * Logging (without execution data: task tokens and questions stay out of the logs), tracing and,
 * with a customer managed key, encryption of execution data (reading a history then needs
 * kms:Decrypt on the key, decision 0004). Set at the CloudFormation level so the L2 adds no "*"
 * statements of its own to the role's default policy; `policy` is the observability policy above.
 */
export function configureStateMachine(
  stateMachine: sfn.StateMachine,
  logGroup: logs.ILogGroup,
  policy: iam.Policy,
  encryptionKey?: kms.IKey,
): void {
  const cfn = stateMachine.node.defaultChild as sfn.CfnStateMachine;
  cfn.loggingConfiguration = {
    level: sfn.LogLevel.ALL,
    includeExecutionData: false,
    destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: logGroup.logGroupArn } }],
  };
  cfn.tracingConfiguration = { enabled: true };
  if (encryptionKey)
    cfn.encryptionConfiguration = {
      type: 'CUSTOMER_MANAGED_KMS_KEY',
      kmsKeyId: encryptionKey.keyArn,
      kmsDataKeyReusePeriodSeconds: 300,
    };
  stateMachine.node.addDependency(policy);
}
