import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { FactoryTable } from '../../lib/constructs/table';
import { TABLE_KEYS } from '../../functions/shared/store/keys';

function tableTemplate(props: { deletionProtection: boolean; customerKey?: boolean }) {
  const stack = new Stack(new App(), 'TableTest');
  const encryptionKey = props.customerKey
    ? new kms.Key(stack, 'Key', { enableKeyRotation: true })
    : undefined;
  new FactoryTable(stack, 'Store', { deletionProtection: props.deletionProtection, encryptionKey });
  return Template.fromStack(stack);
}

describe('FactoryTable', () => {
  const template = tableTemplate({ deletionProtection: true });

  it('has the keys and GSIs of TABLE_KEYS, each projecting ALL, on demand', () => {
    const keySchema = (hash: string, range: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      { AttributeName: range, KeyType: 'RANGE' },
    ];
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: keySchema('pk', 'sk'),
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: TABLE_KEYS.gsi.map((gsi) => ({
        IndexName: gsi.indexName,
        KeySchema: keySchema(gsi.partitionKey, gsi.sortKey),
        Projection: { ProjectionType: 'ALL' },
      })),
    });
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'));
    const definitions = (table?.Properties.AttributeDefinitions ?? []) as {
      AttributeName: string;
      AttributeType: string;
    }[];
    const attributes = definitions.map((a) => `${a.AttributeName}:${a.AttributeType}`).sort();
    expect(attributes).toEqual([
      'gsi1pk:S',
      'gsi1sk:S',
      'gsi2pk:S',
      'gsi2sk:S',
      'gsi3pk:S',
      'gsi3sk:S',
      'gsi4pk:S',
      'gsi4sk:S',
      'pk:S',
      'sk:S',
    ]);
  });

  it('has the recent-runs index (gsi4, runs by month) the unfiltered run listing queries', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'gsi4',
          KeySchema: [
            { AttributeName: 'gsi4pk', KeyType: 'HASH' },
            { AttributeName: 'gsi4sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ]),
    });
  });

  it('has PITR, encryption, TTL on expiresAt and deletion protection', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('turns deletion protection off when configured, and can use a customer managed key', () => {
    const unprotected = tableTemplate({ deletionProtection: false, customerKey: true });
    unprotected.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        DeletionProtectionEnabled: false,
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      },
      DeletionPolicy: 'Delete',
    });
  });
});
