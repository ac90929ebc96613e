import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';

/** Polls DescribeExecution until the status leaves RUNNING (bounded). */
export async function waitForEnd(
  client: SFNClient,
  executionArn: string,
  timeoutMs = 10_000,
): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  let last: DescribeExecutionCommandOutput | undefined;
  while (Date.now() < deadline) {
    last = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (last.status !== 'RUNNING') return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`execution still ${last?.status} after ${timeoutMs} ms`);
}

/** The execution's history, one page of up to 1000 events (these executions are short). */
export async function history(client: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const { events } = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return events ?? [];
}
