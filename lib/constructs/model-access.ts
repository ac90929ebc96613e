import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { isInferenceProfile } from '../../functions/shared/domain/providers';

/**
 * The LLM worker's access to Amazon Bedrock: `bedrock:InvokeModel` and
 * `bedrock:InvokeModelWithResponseStream` on the configured models only, nothing else.
 * - A foundation model id (`anthropic.claude-…-v1:0`): that model in this stack's region.
 * - A cross-region inference profile (`us.anthropic.claude-…`): the profile in this account and
 *   region, and the foundation model behind it in any region (the profile routes each request to
 *   one of its regions, and Bedrock checks the model's ARN there:
 *   docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
 * - An ARN: as given.
 */
export interface BedrockAccessProps {
  role: iam.IRole;
  /** Bedrock model ids, inference profile ids or ARNs (provider prefix already removed). */
  models: readonly string[];
}

const PROFILE_PREFIX = /^[a-z-]+\./;

export function bedrockResources(
  stack: Stack,
  models: readonly string[],
): { exact: string[]; anyRegion: string[]; anyRegionModels: string[] } {
  const exact = new Set<string>();
  const anyRegion = new Set<string>();
  const anyRegionModels = new Set<string>();
  const { partition, region, account } = stack;
  for (const model of models) {
    if (model.startsWith('arn:')) exact.add(model);
    else if (isInferenceProfile(model)) {
      exact.add(`arn:${partition}:bedrock:${region}:${account}:inference-profile/${model}`);
      const base = model.replace(PROFILE_PREFIX, '');
      anyRegionModels.add(base);
      anyRegion.add(`arn:${partition}:bedrock:*::foundation-model/${base}`);
    } else exact.add(`arn:${partition}:bedrock:${region}::foundation-model/${model}`);
  }
  return { exact: [...exact], anyRegion: [...anyRegion], anyRegionModels: [...anyRegionModels] };
}

export class BedrockAccess extends Construct {
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: BedrockAccessProps) {
    super(scope, id);
    const { exact, anyRegion, anyRegionModels } = bedrockResources(Stack.of(this), props.models);
    this.policy = new iam.Policy(this, 'Policy', {
      roles: [props.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
          resources: [...exact, ...anyRegion],
        }),
      ],
    });
    for (const model of anyRegionModels) {
      Validations.of(this.policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${model}]`,
        reason:
          'A cross-region inference profile sends each request to one of its regions, where Bedrock checks the foundation model ARN: the grant names this one model, in any region.',
      });
    }
  }
}
