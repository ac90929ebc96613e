import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface WorkspacesProps {
  /** The stack's customer managed key; undefined = S3 managed encryption (SSE-S3). */
  encryptionKey?: kms.IKey;
  /** Objects hold private source: they expire after this many days (default 30). */
  retentionDays?: number;
}

/**
 * The bucket of workspace snapshots (each run's repository tarball at its base SHA,
 * `snapshots/…`), failed CI jobs' logs (`ci-logs/…`) and later sandbox transfers: private,
 * encrypted, TLS-only, expiring. The lifecycle rule has no prefix filter, so it covers them all.
 */
export class Workspaces extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: WorkspacesProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      lifecycleRules: [
        {
          expiration: Duration.days(props.retentionDays ?? 30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Expiring copies of repositories: nothing to keep when the stack goes.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Objects are short-lived copies of repositories written and read by the stage runner alone; requests are auditable with CloudTrail data events, without a second bucket of access logs.',
    });
  }
}
