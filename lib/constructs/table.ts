import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../../functions/shared/store/keys';

export interface FactoryTableProps {
  deletionProtection: boolean;
  /** A customer managed key; undefined = the AWS managed key for DynamoDB. */
  encryptionKey?: kms.IKey;
}

const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/**
 * The single table of SPEC §5, shaped by TABLE_KEYS (the same module the store builds keys with):
 * on-demand, point-in-time recovery, encrypted, TTL on `expiresAt`, and every GSI projecting ALL
 * attributes so each access pattern is one request.
 */
export class FactoryTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: FactoryTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: stringKey(TABLE_KEYS.partitionKey),
      sortKey: stringKey(TABLE_KEYS.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const gsi of TABLE_KEYS.gsi) {
      this.table.addGlobalSecondaryIndex({
        indexName: gsi.indexName,
        partitionKey: stringKey(gsi.partitionKey),
        sortKey: stringKey(gsi.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}
