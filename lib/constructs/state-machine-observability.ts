import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
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
