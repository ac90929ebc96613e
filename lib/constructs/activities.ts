import { Duration, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Step Functions' limit on activity names. */
const MAX_ACTIVITY_NAME = 80;

export interface PipelineActivitiesProps {
  /** The stack's customer managed key, if any: the activities' task inputs are encrypted with it. */
  encryptionKey?: kms.IKey;
}

/**
 * The activities the pipeline pauses on: the human and CI waits (clarify, checks, approval) and
 * the LLM turns. The stage runner takes each scheduled task with GetActivityTask and keeps its
 * token server-side (a wait item, or the LLM queue message), so no task token is part of a state's
 * parameters and none appears in the execution history (decision 0004). Their ARNs are
 * `${WaitActivityArn}` / `${LlmTurnActivityArn}` in the ASL and WAIT_ACTIVITY_ARN /
 * LLM_TURN_ACTIVITY_ARN in the functions' environment.
 */
export class PipelineActivities extends Construct {
  readonly waits: sfn.Activity;
  readonly llmTurns: sfn.Activity;

  constructor(scope: Construct, id: string, props: PipelineActivitiesProps = {}) {
    super(scope, id);
    this.waits = this.activity('Waits', props.encryptionKey);
    this.llmTurns = this.activity('LlmTurns', props.encryptionKey);
  }

  get all(): sfn.Activity[] {
    return [this.waits, this.llmTurns];
  }

  private activity(suffix: string, encryptionKey: kms.IKey | undefined): sfn.Activity {
    // One per stack, like the pipeline (lib/constructs/workflow.ts PipelineArns).
    const activityName = `${Stack.of(this).stackName}-${suffix}`;
    if (activityName.length > MAX_ACTIVITY_NAME) {
      throw new Error(
        `the stack name '${Stack.of(this).stackName}' is too long: the activity '${activityName}' would exceed Step Functions' ${MAX_ACTIVITY_NAME}-character limit on activity names`,
      );
    }
    return new sfn.Activity(this, suffix, {
      activityName,
      ...(encryptionKey && {
        encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(
          encryptionKey,
          Duration.seconds(300),
        ),
      }),
    });
  }
}
