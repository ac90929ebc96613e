import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FactorySecrets, type FactorySecretsProps } from '../../lib/constructs/secrets';

function secretsOf(props: FactorySecretsProps | ((stack: Stack) => FactorySecretsProps)) {
  const app = new App();
  const stack = new Stack(app, 'SecretsTest');
  const secrets = new FactorySecrets(stack, 'Secrets', typeof props === 'function' ? props(stack) : props);
  return { app, stack, secrets, template: Template.fromStack(stack) };
}

const generatedOf = (template: Template) =>
  Object.fromEntries(
    Object.entries(template.findResources('AWS::SecretsManager::Secret')).map(([logicalId, secret]) => [
      logicalId.replace(/^Secrets|[0-9A-F]{8}$/g, ''),
      secret.Properties.GenerateSecretString,
    ]),
  );

describe('FactorySecrets', () => {
  it('creates the GitHub token, webhook, Anthropic and approval-key secrets in token mode', () => {
    const { template, secrets, stack } = secretsOf({ github: { mode: 'token' }, anthropic: 'create' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    const generated = generatedOf(template);
    expect(Object.keys(generated).sort()).toEqual(['Anthropic', 'ApprovalKey', 'GitHub', 'WebhookSecret']);
    // The shape adapters/github.ts reads: {"token"} here, {"appId","privateKey"} in app mode.
    expect(generated.GitHub).toMatchObject({ SecretStringTemplate: '{}', GenerateStringKey: 'token' });
    expect(generated.WebhookSecret).toMatchObject({ PasswordLength: 48, ExcludePunctuation: true });
    expect(generated.ApprovalKey).toMatchObject({ PasswordLength: 64 });

    const environment = stack.resolve(secrets.environment());
    expect(Object.keys(environment).sort()).toEqual([
      'ANTHROPIC_SECRET_ID',
      'APPROVAL_KEY_SECRET_ID',
      'GITHUB_SECRET_ID',
      'WEBHOOK_SECRET_ID',
    ]);
    expect(environment.GITHUB_SECRET_ID).toEqual({ Ref: expect.stringMatching(/^SecretsGitHub/) });
  });

  it('holds the App id beside a private key placeholder in app mode', () => {
    const { template } = secretsOf({ github: { mode: 'app', appId: 4242 }, anthropic: 'create' });
    expect(generatedOf(template).GitHub).toMatchObject({
      SecretStringTemplate: '{"appId":"4242"}',
      GenerateStringKey: 'privateKey',
    });
  });

  it('encrypts every secret with the customer key when one is given', () => {
    const { template } = secretsOf((stack) => ({
      github: { mode: 'token' },
      anthropic: 'create',
      encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    }));
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
      expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] });
    }
  });

  it('acknowledges only the missing rotation, secret by secret', () => {
    const { app } = secretsOf({ github: { mode: 'token' }, anthropic: 'create' });
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);

    // Control: the same rule does fire on a secret this construct did not acknowledge.
    const control = new App();
    const stack = new Stack(control, 'Control');
    new FactorySecrets(stack, 'Secrets', { github: { mode: 'token' }, anthropic: 'create' });
    new secretsmanager.Secret(stack, 'Stray');
    const report = new AwsSolutionsChecks().validateScope(control);
    expect(
      report.violations.map((v) => [v.ruleName, v.violatingResources.map((r) => r.constructPath)]),
    ).toEqual([['AwsSolutions-SMG4', ['Control/Stray/Resource']]]);
  });

  it('makes no Anthropic secret when no model uses the Anthropic API, and uses the operator’s when given', () => {
    const none = secretsOf({ github: { mode: 'token' }, anthropic: 'none' });
    none.template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    expect(none.secrets.anthropic).toBeUndefined();
    expect(Object.keys(none.stack.resolve(none.secrets.environment()))).not.toContain('ANTHROPIC_SECRET_ID');

    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:anthropic-key-AbCdEf';
    const theirs = secretsOf({ github: { mode: 'token' }, anthropic: { secretArn: arn } });
    theirs.template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    expect(theirs.stack.resolve(theirs.secrets.environment()).ANTHROPIC_SECRET_ID).toBe(arn);
  });
});
