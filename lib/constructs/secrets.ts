import { Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { FactoryConfig } from '../config';

export interface FactorySecretsProps {
  github: Pick<FactoryConfig['github'], 'mode' | 'appId'>;
  /**
   * The Anthropic API key: a secret this stack makes for the operator to fill (`create`), one the
   * operator already keeps (its ARN), or none when no model of this deployment uses the Anthropic API.
   */
  anthropic: 'create' | 'none' | { secretArn: string };
  /** A customer managed key; undefined = the AWS managed key for Secrets Manager. */
  encryptionKey?: kms.IKey;
}

/** Why none of these secrets can rotate automatically (cdk-nag AwsSolutions-SMG4). */
const NO_ROTATION_REASON: Record<string, string> = {
  GitHub:
    'Issued by GitHub (App private key or token): only GitHub can mint a new one, so the operator rotates it in GitHub and puts the new value here.',
  WebhookSecret:
    'Shared with the GitHub App webhook settings: rotating it here alone would reject every delivery; the operator rotates both sides together.',
  Anthropic: 'Issued by the Anthropic console: no API exists for Secrets Manager to mint a new key.',
  ApprovalKey:
    'Signs outstanding approval links (short-lived); rotating it invalidates them, so it is rotated deliberately by the operator, not on a schedule.',
};

/**
 * The secrets of SPEC §3/§4. Generated values are real for the webhook secret and the approval
 * signing key, and placeholders for the GitHub credentials and the Anthropic key (made only when a
 * model uses the Anthropic API and the operator gave no secret of theirs), which the operator sets
 * after deploying (docs/deploy.md). Handlers receive only the ARNs.
 */
export class FactorySecrets extends Construct {
  /** `{"appId","privateKey"}` in app mode, `{"token"}` in token mode (see adapters/github.ts). */
  readonly github: secretsmanager.Secret;
  readonly webhookSecret: secretsmanager.Secret;
  /** Absent when no configured model uses the Anthropic API. */
  readonly anthropic?: secretsmanager.ISecret;
  readonly approvalKey: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: FactorySecretsProps) {
    super(scope, id);
    const encryptionKey = props.encryptionKey;
    const appMode = props.github.mode === 'app';

    this.github = new secretsmanager.Secret(this, 'GitHub', {
      description: appMode
        ? 'Code Factory GitHub App credentials: set privateKey to the App private key (PEM)'
        : 'Code Factory GitHub token: set token to a fine-grained personal access token',
      encryptionKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify(appMode ? { appId: String(props.github.appId) } : {}),
        generateStringKey: appMode ? 'privateKey' : 'token',
        excludePunctuation: true,
        passwordLength: 40,
      },
    });
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: 'Code Factory GitHub webhook secret: copy it into the GitHub App webhook settings',
      encryptionKey,
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });
    if (props.anthropic === 'create') {
      this.anthropic = new secretsmanager.Secret(this, 'Anthropic', {
        description: 'Code Factory Anthropic API key: set it to your key',
        encryptionKey,
        generateSecretString: { excludePunctuation: true, passwordLength: 40 },
      });
    } else if (props.anthropic !== 'none') {
      this.anthropic = secretsmanager.Secret.fromSecretCompleteArn(
        this,
        'Anthropic',
        props.anthropic.secretArn,
      );
    }
    this.approvalKey = new secretsmanager.Secret(this, 'ApprovalKey', {
      description: 'Code Factory approval link signing key (HMAC), generated',
      encryptionKey,
      generateSecretString: { excludePunctuation: true, passwordLength: 64 },
    });

    for (const [secretId, reason] of Object.entries(NO_ROTATION_REASON)) {
      const secret = this.node.tryFindChild(secretId);
      if (secret instanceof secretsmanager.Secret)
        Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason });
    }
  }

  /** The environment contract's secret ids (functions/shared/config.ts). */
  environment(): Record<string, string> {
    return {
      GITHUB_SECRET_ID: this.github.secretArn,
      WEBHOOK_SECRET_ID: this.webhookSecret.secretArn,
      ...(this.anthropic ? { ANTHROPIC_SECRET_ID: this.anthropic.secretArn } : {}),
      APPROVAL_KEY_SECRET_ID: this.approvalKey.secretArn,
    };
  }
}
