import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { ExecutionSweep } from '../../lib/constructs/execution-sweep';
import { STAGES } from '../../functions/stages/app';

/**
 * An execution that ends without reaching finalize (timed out as a whole, stopped by hand, a
 * failing finalize) still ends its run: EventBridge sends it to the stage runner's
 * `execution-ended`, with the run id and the status only.
 */
describe('ExecutionSweep', () => {
  const app = new App();
  const stack = new Stack(app, 'SweepTest');
  const stageRunner = new lambda.Function(stack, 'StageRunner', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
  const stateMachine = new sfn.StateMachine(stack, 'Pipeline', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')),
  });
  new ExecutionSweep(stack, 'Sweep', { stateMachine, stageRunner });
  const template = Template.fromStack(stack);

  it("matches the pipeline's failed, timed-out and aborted executions and invokes the stage runner", () => {
    const rules = template.findResources('AWS::Events::Rule');
    expect(Object.keys(rules)).toHaveLength(1);
    const rule = Object.values(rules)[0] as {
      Properties: {
        EventPattern: { source: string[]; 'detail-type': string[]; detail: { status: string[] } };
        Targets: Array<{
          InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
        }>;
      };
    };
    expect(rule.Properties.EventPattern).toMatchObject({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
    const [target] = rule.Properties.Targets;
    expect(Object.values(target?.InputTransformer.InputPathsMap ?? {}).sort()).toEqual([
      '$.detail.name',
      '$.detail.status',
    ]);
    expect(target?.InputTransformer.InputTemplate).toContain('"stage":"execution-ended"');
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: Match.anyValue(),
    });
  });

  it('names a stage the stage runner dispatches', () => {
    expect(STAGES['execution-ended']).toBeTypeOf('function');
  });
});
