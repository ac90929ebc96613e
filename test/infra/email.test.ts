import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { SenderIdentity } from '../../lib/constructs/email';

const stack = new Stack(new App(), 'EmailTest');
const sender = new SenderIdentity(stack, 'Email', { from: 'factory@acme.io' });
const role = new iam.Role(stack, 'Sender', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
sender.grantSend(role);
const template = Template.fromStack(stack);

describe('SenderIdentity', () => {
  it('creates the SES email identity of the configured sender', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'factory@acme.io' });
  });

  it('grants ses:SendEmail on that identity only', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'ses:SendEmail',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':ses:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':identity/factory@acme.io',
            ],
          ],
        },
      },
    ]);
  });
});
