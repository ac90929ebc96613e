import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Workspaces } from '../../lib/constructs/workspaces';

function workspacesStack(customerKey: boolean) {
  const app = new App();
  const stack = new Stack(app, 'WorkspacesTest');
  const encryptionKey = customerKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  new Workspaces(stack, 'Workspaces', { encryptionKey });
  return { app, template: Template.fromStack(stack) };
}

describe('Workspaces', () => {
  const { app, template } = workspacesStack(true);

  it('is private, encrypted with the stack key, and expires objects after 30 days', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
    });
  });

  it('expires every prefix: snapshots and CI logs alike (no filter on the rule)', () => {
    const bucket = Object.values(template.findResources('AWS::S3::Bucket'))[0];
    const rules = bucket?.Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
    expect(rules).toHaveLength(1);
    expect(rules[0]).not.toHaveProperty('Prefix');
    expect(rules[0]).not.toHaveProperty('Filter');
    expect(rules[0]).not.toHaveProperty('TagFilters');
  });

  it('refuses plain HTTP', () => {
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy'))[0];
    expect(JSON.stringify(policy)).toContain('aws:SecureTransport');
  });

  it('passes cdk-nag with only the access-log finding acknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.filter((v) => v.ruleName !== 'AwsSolutions-S1')).toEqual([]);
    expect(workspacesStack(false).template.toJSON()).toBeDefined();
  });
});
