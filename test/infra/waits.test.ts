import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { PipelineWaits } from '../../lib/constructs/waits';

function waitsStack(customerKey: boolean) {
  const app = new App();
  const stack = new Stack(app, 'WaitsTest');
  const encryptionKey = customerKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const waits = new PipelineWaits(stack, 'Waits', { encryptionKey });
  return { app, stack, waits, encryptionKey, template: Template.fromStack(stack) };
}

describe('PipelineWaits', () => {
  it('is one activity per stack, named after the stack like the pipeline', () => {
    const { template } = waitsStack(false);
    template.resourceCountIs('AWS::StepFunctions::Activity', 1);
    template.hasResourceProperties('AWS::StepFunctions::Activity', { Name: 'WaitsTest-Waits' });
    const [activity] = Object.values(template.findResources('AWS::StepFunctions::Activity'));
    expect(activity?.Properties.EncryptionConfiguration).toBeUndefined();
  });

  it("encrypts the waits' inputs with the stack's customer managed key when there is one", () => {
    const { stack, encryptionKey, template } = waitsStack(true);
    template.hasResourceProperties('AWS::StepFunctions::Activity', {
      EncryptionConfiguration: {
        Type: 'CUSTOMER_MANAGED_KMS_KEY',
        KmsKeyId: Match.anyValue(),
        KmsDataKeyReusePeriodSeconds: 300,
      },
    });
    const [activity] = Object.values(template.findResources('AWS::StepFunctions::Activity'));
    expect(JSON.stringify(activity?.Properties.EncryptionConfiguration.KmsKeyId)).toContain(
      stack.getLogicalId(encryptionKey?.node.defaultChild as never),
    );
  });

  it('refuses a stack name that would make the activity name longer than Step Functions allows', () => {
    const app = new App();
    const stack = new Stack(app, `C${'o'.repeat(74)}`);
    expect(() => new PipelineWaits(stack, 'Waits')).toThrow(
      /too long: the wait activity .* 80-character limit/,
    );
  });

  it('passes cdk-nag', () => {
    for (const customerKey of [false, true]) {
      const { app } = waitsStack(customerKey);
      const findings = new AwsSolutionsChecks()
        .validateScope(app)
        .violations.filter((v) => v.violatingResources.some((r) => r.constructPath?.includes('/Waits/')));
      expect(findings.map((v) => v.ruleName)).toEqual([]);
    }
  });
});
