import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FactoryAlarms } from '../../lib/constructs/alarms';

function alarmsStack(options: { alarmEmail?: string; customerKey?: boolean }) {
  const app = new App();
  const stack = new Stack(app, 'AlarmsTest');
  const encryptionKey = options.customerKey
    ? new kms.Key(stack, 'Key', { enableKeyRotation: true })
    : undefined;
  const fn = (id: string) => lambda.Function.fromFunctionName(stack, id, id.toLowerCase());
  const worker = fn('Worker');
  const deadLetterConsumer = fn('DlqConsumer');
  const alarms = new FactoryAlarms(stack, 'Alarms', {
    deadLetterQueue: sqs.Queue.fromQueueArn(stack, 'Dlq', 'arn:aws:sqs:eu-west-1:111122223333:dlq'),
    llmQueue: sqs.Queue.fromQueueArn(stack, 'Queue', 'arn:aws:sqs:eu-west-1:111122223333:llm'),
    stateMachine: sfn.StateMachine.fromStateMachineName(stack, 'Machine', 'Pipeline'),
    httpApi: apigwv2.HttpApi.fromHttpApiAttributes(stack, 'Api', { httpApiId: 'api123' }),
    functions: { webhook: fn('Webhook'), llmWorker: worker },
    llmWorker: worker,
    llmDlq: deadLetterConsumer,
    alarmEmail: options.alarmEmail,
    encryptionKey,
  });
  return { app, stack, alarms, template: Template.fromStack(stack) };
}

const { app, stack, alarms, template } = alarmsStack({ alarmEmail: 'oncall@acme.io' });
const topicRef = { Ref: stack.getLogicalId(alarms.topic.node.defaultChild as never) };

describe('FactoryAlarms', () => {
  it('alarms on DLQ depth > 0, failed and timed-out executions, API 5xx, worker and DLQ consumer errors', () => {
    const byMetric = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => {
      const p = alarm.Properties;
      expect(p).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topicRef],
        OKActions: [topicRef],
      });
      return `${p.Namespace}/${p.MetricName}`;
    });
    expect(byMetric.sort()).toEqual([
      'AWS/ApiGateway/5xx',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Errors',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/States/ExecutionsFailed',
      'AWS/States/ExecutionsTimedOut',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'dlq' }],
      Statistic: 'Maximum',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: 'api123' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: Match.anyValue() }],
    });
    // One errors alarm each for the worker and the dead-letter consumer.
    const erroring = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .filter((alarm) => alarm.Properties.MetricName === 'Errors')
      .map((alarm) => JSON.stringify(alarm.Properties.Dimensions));
    expect(new Set(erroring).size).toBe(2);
  });

  it('sends alarms to a TLS-only topic subscribed by the operator email', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@acme.io',
    });
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    alarmsStack({}).template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('has a small dashboard covering executions, queues, the API, functions and alarm states', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody,
    );
    for (const title of [
      'Pipeline executions',
      'LLM queue and dead letters',
      'HTTP API',
      'Function errors',
      'Alarms',
    ]) {
      expect(body).toContain(title);
    }
  });

  it('encrypts the topic with the stack key and lets CloudWatch use it; acknowledges SNS2 otherwise', () => {
    const cmk = alarmsStack({ customerKey: true });
    cmk.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
    });
    const keyPolicy = Object.values(cmk.template.findResources('AWS::KMS::Key'))[0]?.Properties.KeyPolicy;
    expect(keyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    expect(new AwsSolutionsChecks().validateScope(cmk.app).violations).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
    // aws-managed: unencrypted (CloudWatch cannot publish with the AWS managed SNS key), acknowledged.
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.absent() });
  });
});
