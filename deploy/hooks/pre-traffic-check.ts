// CodeDeploy's BeforeAllowTraffic hook (serverless-plugin-canary-deployments, preTrafficHook): before
// any traffic reaches a new version, invoke that version and report Succeeded or Failed. Failed
// stops the deployment, the alias keeps pointing at the old version, and CloudFormation rolls back.
// - health: GET must answer 200 "ok", so the new code, its configuration and its network reach the store.
// - hello, helloAgain: a GET would open or count a live user's window, so the check sends HEAD, which the
//   route answers 405 without touching the store: the bundle loads, its configuration is valid, it answers.
// A throttled invoke is retried for a while: the new version shares its function's reserved concurrency
// (prod reserves 4 for health) with live traffic, and one busy moment must not roll a deployment back.
// Retrying is safe, as neither check changes anything.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CodeDeployClient,
  GetDeploymentTargetCommand,
  ListDeploymentTargetsCommand,
  PutLifecycleEventHookExecutionStatusCommand,
} from '@aws-sdk/client-codedeploy';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';

interface HookEvent {
  DeploymentId: string;
  LifecycleEventHookExecutionId: string;
}
interface Answer {
  statusCode?: number;
  body?: string;
}

const codeDeploy = new CodeDeployClient({});
const lambda = new LambdaClient({});
/** How long a throttled invoke is retried, within the function's 30 s timeout; the SDK's own three attempts last ~1.5 s. */
export const THROTTLE_RETRY_MS = 20_000;
const THROTTLE_PAUSE_MS = 1_000;

/** The function and version this deployment shifts traffic to. */
async function targetOf(deploymentId: string) {
  const { targetIds = [] } = await codeDeploy.send(new ListDeploymentTargetsCommand({ deploymentId }));
  const [targetId] = targetIds;
  if (!targetId) throw new Error(`deployment ${deploymentId} has no target`);
  const { deploymentTarget } = await codeDeploy.send(new GetDeploymentTargetCommand({ deploymentId, targetId }));
  const info = deploymentTarget?.lambdaTarget?.lambdaFunctionInfo;
  if (!info?.functionName || !info.targetVersion) throw new Error(`deployment ${deploymentId}: no target version`);
  return { functionName: info.functionName, version: info.targetVersion };
}

/** What the new version must answer: health proves the store, the counting routes only that they run. */
export function expectationFor(functionName: string) {
  return functionName.endsWith('-health')
    ? { method: 'GET', statusCode: 200, body: 'ok' }
    : { method: 'HEAD', statusCode: 405, body: 'Method Not Allowed' };
}

/** Invokes, retrying while Lambda answers TooManyRequestsException (the reservation is busy), up to the deadline. */
async function invoke(command: InvokeCommand, deadline: number): Promise<InvokeCommandOutput> {
  for (;;) {
    try {
      return await lambda.send(command);
    } catch (error) {
      if ((error as Error).name !== 'TooManyRequestsException' || Date.now() + THROTTLE_PAUSE_MS > deadline)
        throw error;
      await sleep(THROTTLE_PAUSE_MS);
    }
  }
}

async function check(functionName: string, version: string): Promise<string | undefined> {
  const expected = expectationFor(functionName);
  const event = { version: '2.0', rawPath: '/', requestContext: { http: { method: expected.method } } };
  const result = await invoke(
    new InvokeCommand({ FunctionName: functionName, Qualifier: version, Payload: JSON.stringify(event) }),
    Date.now() + THROTTLE_RETRY_MS,
  );
  if (result.FunctionError) return `${functionName}:${version} failed: ${result.FunctionError}`;
  const answer = JSON.parse(new TextDecoder().decode(result.Payload)) as Answer;
  if (answer.statusCode === expected.statusCode && answer.body === expected.body) return undefined;
  return `${functionName}:${version} answered ${answer.statusCode} "${answer.body}" to ${expected.method}, expected ${expected.statusCode} "${expected.body}"`;
}

export async function handler(event: HookEvent): Promise<void> {
  let problem: string | undefined;
  try {
    const { functionName, version } = await targetOf(event.DeploymentId);
    problem = await check(functionName, version);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  console.log(JSON.stringify({ message: 'pre-traffic check', deploymentId: event.DeploymentId, problem }));
  await codeDeploy.send(
    new PutLifecycleEventHookExecutionStatusCommand({
      deploymentId: event.DeploymentId,
      lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
      status: problem ? 'Failed' : 'Succeeded',
    }),
  );
}
