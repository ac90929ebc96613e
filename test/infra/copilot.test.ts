import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ASK_PLACEHOLDERS, COPILOT_WRITABLE_KEYS, Copilot } from '../../lib/constructs/copilot';
import { FactoryFunction } from '../../lib/constructs/node-function';
import { placeholdersOf } from '../../lib/constructs/workflow';
import { keys } from '../../functions/shared/store/keys';
import { readFileSync } from 'node:fs';

const definitionPath = join(import.meta.dirname, '../../statemachines/ask.asl.json');
const hello = join(import.meta.dirname, 'fixtures/hello.ts');

function copilotStack() {
  const app = new App();
  const stack = new Stack(app, 'CopilotTest');
  const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const table = new dynamodb.TableV2(stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  const llmQueue = new sqs.Queue(stack, 'LlmQueue', { encryptionMasterKey: encryptionKey });
  const fn = (id: string) => new FactoryFunction(stack, id, { entry: hello, logRetentionDays: 30 });
  const [api, llmWorker, llmDlq] = [fn('Api'), fn('LlmWorker'), fn('LlmDlq')];
  const copilot = new Copilot(stack, 'Copilot', {
    entry: hello,
    definitionPath,
    environment: { TABLE_NAME: 'table' },
    logRetentionDays: 30,
    table,
    indexNames: ['gsi1'],
    llmQueue,
    encryptionKey,
    api,
    llmWorker,
    llmDlq,
  });
  return { app, stack, copilot, api, template: Template.fromStack(stack) };
}

const { app, stack, copilot, api, template } = copilotStack();
const policiesOf = (roleId: string) =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('Copilot (lib/constructs/copilot.ts)', () => {
  it('runs the ask state machine from its ASL with exactly its placeholders, logged without execution data', () => {
    expect(placeholdersOf(readFileSync(definitionPath, 'utf8'))).toEqual([...ASK_PLACEHOLDERS].sort());
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
      DefinitionSubstitutions: {
        CopilotFunctionArn: { 'Fn::GetAtt': [idOf(copilot.function.fn), 'Arn'] },
        LlmQueueUrl: Match.anyValue(),
      },
    });
  });

  it('lets the copilot function read the table and write only its asks and conversations', () => {
    const statements = policiesOf(idOf(copilot.function.role));
    const writes = statements.filter((s) => JSON.stringify(s.Action).includes('PutItem'));
    expect(writes).toHaveLength(1);
    expect(writes[0]?.Action).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(writes[0]?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': COPILOT_WRITABLE_KEYS },
    });
    // The patterns cover the keys the copilot writes, and not a run's.
    const covers = (pk: string) =>
      COPILOT_WRITABLE_KEYS.some((p) => new RegExp(`^${p.replace('*', '.*')}$`).test(pk));
    expect(covers(keys.ask('01J00000000000000000000000').pk)).toBe(true);
    expect(covers(keys.conversation('ask-01J00000000000000000000000').pk)).toBe(true);
    expect(covers(keys.run('01J00000000000000000000000').pk)).toBe(false);
    expect(covers(keys.conversation('01J00000000000000000000000').pk)).toBe(false);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => String(a).startsWith('states:') || String(a).startsWith('sqs:'))).toEqual(
      [],
    );
    expect(actions).not.toContain('dynamodb:DeleteItem');
  });

  it('lets the API start asks, and the LLM worker and DLQ consumer answer their tokens', () => {
    const apiActions = policiesOf(idOf(api.role)).flatMap((s) => [s.Action].flat());
    expect(apiActions).toEqual(expect.arrayContaining(['states:StartExecution', 'states:DescribeExecution']));
    const env = template.toJSON().Resources[idOf(api.fn)].Properties.Environment.Variables;
    expect(JSON.stringify(env.ASK_STATE_MACHINE_ARN)).toContain(':stateMachine:CopilotTest-Ask');
  });

  it('passes cdk-nag (AwsSolutions) on its own resources', () => {
    const findings = new AwsSolutionsChecks()
      .validateScope(app)
      .violations.filter((v) => v.violatingResources.some((r) => r.constructPath?.includes('/Copilot/')))
      .map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`);
    expect(findings).toEqual([]);
    // Control: the test's bare table is flagged, so the checks did run.
    expect(new AwsSolutionsChecks().validateScope(app).violations.length).toBeGreaterThan(0);
  });
});
