// CodeDeploy's BeforeAllowTraffic hook (serverless-plugin-canary-deployments, preTrafficHook): before
// any traffic reaches a new version, invoke that version and report Succeeded or Failed. Failed
// stops the deployment, the alias keeps pointing at the old version, and CloudFormation rolls back.
// - health: GET must answer 200 "ok", so the new code, its configuration and its network reach the store.
// - hello, helloAgain: a GET would open or count a live user's window, so the check sends HEAD, which the
//   route answers 405 without touching the store: the bundle loads, its configuration is valid, it answers.
// A throttled invoke is retried for a while: the new version shares its function's reserved concurrency
// (prod reserves 4 for health) with live traffic, and one busy moment must not roll a deployment back.
// Retrying is safe, as neither check changes anything.
// Everything is bounded by the hook's own remaining time: the check gives up (Failed) early enough to
// report, since a hook that times out without reporting leaves CodeDeploy waiting an hour.
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
/** The part of Lambda's context the hook uses. */
interface HookContext {
  getRemainingTimeInMillis(): number;
}
interface Answer {
  statusCode?: number;
  body?: string;
}

const codeDeploy = new CodeDeployClient({});
const lambda = new LambdaClient({});
/** The hook's timeout (deploy/hooks/pre-traffic-check.yml), for a call without Lambda's context. */
export const HOOK_TIMEOUT_MS = 30_000;
/** Kept back from the remaining time for reporting the result to CodeDeploy. */
export const REPORT_RESERVE_MS = 5_000;
const THROTTLE_PAUSE_MS = 1_000;

/** The function and version this deployment shifts traffic to. */
async function targetOf(deploymentId: string, abortSignal: AbortSignal) {
  const { targetIds = [] } = await codeDeploy.send(new ListDeploymentTargetsCommand({ deploymentId }), {
    abortSignal,
  });
  const [targetId] = targetIds;
  if (!targetId) throw new Error(`deployment ${deploymentId} has no target`);
  const { deploymentTarget } = await codeDeploy.send(new GetDeploymentTargetCommand({ deploymentId, targetId }), {
    abortSignal,
  });
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

/**
 * Invokes, retrying while Lambda answers TooManyRequestsException (the reservation is busy), until the
 * deadline; the signal aborts a call still under way then.
 */
async function invoke(
  command: InvokeCommand,
  deadline: number,
  abortSignal: AbortSignal,
): Promise<InvokeCommandOutput> {
  for (;;) {
    try {
      return await lambda.send(command, { abortSignal });
    } catch (error) {
      if ((error as Error).name !== 'TooManyRequestsException' || Date.now() + THROTTLE_PAUSE_MS > deadline)
        throw error;
      await sleep(THROTTLE_PAUSE_MS, undefined, { signal: abortSignal });
    }
  }
}

async function check(functionName: string, version: string, deadline: number, abortSignal: AbortSignal) {
  const expected = expectationFor(functionName);
  const event = { version: '2.0', rawPath: '/', requestContext: { http: { method: expected.method } } };
  const result = await invoke(
    new InvokeCommand({ FunctionName: functionName, Qualifier: version, Payload: JSON.stringify(event) }),
    deadline,
    abortSignal,
  );
  if (result.FunctionError) return `${functionName}:${version} failed: ${result.FunctionError}`;
  const answer = JSON.parse(new TextDecoder().decode(result.Payload)) as Answer;
  if (answer.statusCode === expected.statusCode && answer.body === expected.body) return undefined;
  return `${functionName}:${version} answered ${answer.statusCode} "${answer.body}" to ${expected.method}, expected ${expected.statusCode} "${expected.body}"`;
}

export async function handler(event: HookEvent, context?: HookContext): Promise<void> {
  const remaining = context?.getRemainingTimeInMillis() ?? HOOK_TIMEOUT_MS;
  const deadline = Date.now() + remaining - REPORT_RESERVE_MS;
  const abort = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  let problem: string | undefined;
  try {
    const { functionName, version } = await targetOf(event.DeploymentId, abort);
    problem = await check(functionName, version, deadline, abort);
  } catch (error) {
    problem = abort.aborted
      ? `no answer within the hook's time (${remaining} ms, ${REPORT_RESERVE_MS} ms kept to report): ${String(error)}`
      : error instanceof Error
        ? error.message
        : String(error);
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
