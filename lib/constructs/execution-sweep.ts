import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface ExecutionSweepProps {
  stateMachine: sfn.IStateMachine;
  stageRunner: lambda.IFunction;
}

/**
 * An execution that ends without its run reaching finalize (it timed out as a whole, was stopped
 * by hand, or finalize itself failed) must not leave the run claiming to be alive, nor its PR open:
 * EventBridge sends each failed, timed-out or aborted execution of the pipeline to the stage
 * runner's `execution-ended`, which ends the run FAILED through the same end-of-run path as
 * finalize (functions/stages/execution-ended.ts). A run that already ended is left as it is, so
 * the executions of normally failed or cancelled runs change nothing.
 */
export class ExecutionSweep extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ExecutionSweepProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'Code Factory: settle runs whose execution ended without reaching finalize',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(props.stageRunner, {
        // Execution name = run id; nothing else of the event (its input or output) is passed on.
        event: events.RuleTargetInput.fromObject({
          stage: 'execution-ended',
          runId: events.EventField.fromPath('$.detail.name'),
          status: events.EventField.fromPath('$.detail.status'),
        }),
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      }),
    );
  }
}
