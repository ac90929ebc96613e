import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Encryption } from '../../lib/constructs/encryption';

describe('Encryption', () => {
  it('creates no key when AWS managed keys are chosen', () => {
    const stack = new Stack(new App(), 'AwsManaged');
    const encryption = new Encryption(stack, 'Encryption', { mode: 'aws-managed' });
    expect(encryption.key).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 0);
  });

  it('creates one retained, yearly rotating key when customer managed is chosen', () => {
    const stack = new Stack(new App(), 'CustomerManaged');
    const encryption = new Encryption(stack, 'Encryption', { mode: 'customer-managed' });
    expect(encryption.key).toBeDefined();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true, RotationPeriodInDays: 365 },
      DeletionPolicy: 'Retain',
    });
  });
});
