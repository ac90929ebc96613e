import { Duration, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Step Functions' limit on activity names. */
const MAX_ACTIVITY_NAME = 80;

export interface PipelineWaitsProps {
  /** The stack's customer managed key, if any: the activity's task inputs are encrypted with it. */
  encryptionKey?: kms.IKey;
}

/**
 * The activity the pipeline's human and CI waits (clarify, checks, approval) are scheduled on.
 * The stage runner takes each scheduled wait with GetActivityTask and keeps its token
 * server-side, so no task token of a wait is part of a state's parameters, and none appears in
 * the execution history (decision 0004). Its ARN is `${WaitActivityArn}` in the ASL and
 * WAIT_ACTIVITY_ARN in the functions' environment.
 */
export class PipelineWaits extends Construct {
  readonly activity: sfn.Activity;

  constructor(scope: Construct, id: string, props: PipelineWaitsProps = {}) {
    super(scope, id);
    // One per stack, like the pipeline (lib/constructs/workflow.ts PipelineArns).
    const activityName = `${Stack.of(this).stackName}-Waits`;
    if (activityName.length > MAX_ACTIVITY_NAME) {
      throw new Error(
        `the stack name '${Stack.of(this).stackName}' is too long: the wait activity '${activityName}' would exceed Step Functions' ${MAX_ACTIVITY_NAME}-character limit on activity names`,
      );
    }
    this.activity = new sfn.Activity(this, 'Activity', {
      activityName,
      ...(props.encryptionKey && {
        encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(
          props.encryptionKey,
          Duration.seconds(300),
        ),
      }),
    });
  }
}
