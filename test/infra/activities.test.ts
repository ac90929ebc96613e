import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { PipelineActivities } from '../../lib/constructs/activities';

function activitiesStack(customerKey: boolean) {
  const app = new App();
  const stack = new Stack(app, 'ActivitiesTest');
  const encryptionKey = customerKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const activities = new PipelineActivities(stack, 'Activities', { encryptionKey });
  return { app, stack, activities, encryptionKey, template: Template.fromStack(stack) };
}

describe('PipelineActivities', () => {
  it('is the waits activity and the LLM turns activity, named after the stack like the pipeline', () => {
    const { template } = activitiesStack(false);
    template.resourceCountIs('AWS::StepFunctions::Activity', 2);
    template.hasResourceProperties('AWS::StepFunctions::Activity', { Name: 'ActivitiesTest-Waits' });
    template.hasResourceProperties('AWS::StepFunctions::Activity', { Name: 'ActivitiesTest-LlmTurns' });
    for (const activity of Object.values(template.findResources('AWS::StepFunctions::Activity'))) {
      expect(activity.Properties.EncryptionConfiguration).toBeUndefined();
    }
  });

  it("encrypts the tasks' inputs with the stack's customer managed key when there is one", () => {
    const { stack, encryptionKey, template } = activitiesStack(true);
    const activities = Object.values(template.findResources('AWS::StepFunctions::Activity'));
    expect(activities).toHaveLength(2);
    for (const activity of activities) {
      expect(activity.Properties.EncryptionConfiguration).toMatchObject({
        Type: 'CUSTOMER_MANAGED_KMS_KEY',
        KmsDataKeyReusePeriodSeconds: 300,
      });
      expect(JSON.stringify(activity.Properties.EncryptionConfiguration.KmsKeyId)).toContain(
        stack.getLogicalId(encryptionKey?.node.defaultChild as never),
      );
    }
  });

  it('refuses a stack name that would make an activity name longer than Step Functions allows', () => {
    // `-LlmTurns` is the longer suffix: 71 + 9 = 80 fits, 72 + 9 does not.
    expect(
      () => new PipelineActivities(new Stack(new App(), `C${'o'.repeat(70)}`), 'Activities'),
    ).not.toThrow();
    expect(() => new PipelineActivities(new Stack(new App(), `C${'o'.repeat(71)}`), 'Activities')).toThrow(
      /too long: the activity .*-LlmTurns' would exceed Step Functions' 80-character limit/,
    );
  });

  it('passes cdk-nag', () => {
    for (const customerKey of [false, true]) {
      const { app } = activitiesStack(customerKey);
      const findings = new AwsSolutionsChecks()
        .validateScope(app)
        .violations.filter((v) =>
          v.violatingResources.some((r) => r.constructPath?.includes('/Activities/')),
        );
      expect(findings.map((v) => v.ruleName)).toEqual([]);
    }
  });
});
