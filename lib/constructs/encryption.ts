import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { FactoryConfig } from '../config';

export interface EncryptionProps {
  mode: FactoryConfig['encryption'];
}

/**
 * The stack's encryption choice in one place: with `customer-managed`, one rotating KMS key
 * encrypts the table, the queues and the secrets; with `aws-managed`, `key` is undefined and each
 * service uses its own AWS managed key.
 */
export class Encryption extends Construct {
  readonly key: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: EncryptionProps) {
    super(scope, id);
    if (props.mode === 'customer-managed') {
      this.key = new kms.Key(this, 'Key', {
        description: 'Code Factory data key (table, queues, secrets)',
        enableKeyRotation: true,
        rotationPeriod: Duration.days(365),
        // Losing the key would make the retained table and secrets unreadable.
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
  }
}
