import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SANDBOX_MEMORY_MB } from '../../functions/shared/domain/sandbox-price';
import { FactoryFunction } from './node-function';

/** Lambda's maximum: one sandbox job (its commands run concurrently, each at most 900 s). */
export const SANDBOX_TIMEOUT = Duration.seconds(900);

/**
 * The sandbox function (decision 0005): runs the agent's commands on a copy of the workspace it
 * fetches through presigned URLs. Its role can write its own logs and traces and nothing else: no
 * table, bucket, queue, secret or state machine. It gets no factory setting in its environment.
 */
export class SandboxFunction extends Construct {
  readonly function: FactoryFunction;

  constructor(scope: Construct, id: string, props: { entry: string; logRetentionDays: number }) {
    super(scope, id);
    this.function = new FactoryFunction(this, 'Sandbox', {
      entry: props.entry,
      description: 'Code Factory sandbox: runs the agent’s commands on a workspace copy (no permissions)',
      // CPU scales with memory: builds and test runs want it. The default sandbox price follows it.
      memorySize: SANDBOX_MEMORY_MB,
      timeout: SANDBOX_TIMEOUT,
      logRetentionDays: props.logRetentionDays,
      serviceName: 'sandbox',
      ephemeralStorageMb: 4096,
    });
  }
}
