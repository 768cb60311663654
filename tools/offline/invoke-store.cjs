// In-process, serverless-offline runs concurrent invocations of every function in one process, as
// Lambda Managed Instances run them in one execution environment. There the runtime provides the
// Lambda InvokeStore and sets AWS_LAMBDA_MAX_CONCURRENCY, and Powertools then keeps each invocation's
// state (its request id in every log line) apart. This provides both; serverless-offline (patches/)
// runs each invocation in a context of that store, as the runtime does.
const { InvokeStore } = require('@aws/lambda-invoke-store');

/** Installs the store (globalThis.awslambda.InvokeStore) and sets the variable in every function's environment. */
async function provideInvokeStore(serverless, log) {
  const store = await InvokeStore.getInstanceAsync(true);
  globalThis.awslambda = { ...globalThis.awslambda, InvokeStore: store }; // where the runtime puts it
  // getInstanceAsync returns a store already installed (an SDK call may have made a single-context
  // one); only the concurrent kind keeps requests apart.
  if (!('als' in store)) {
    log.warning('The Lambda InvokeStore here serves one invocation at a time: concurrent request ids may mix in logs.');
  }
  for (const fn of Object.values(serverless.service.functions)) {
    fn.environment = {
      ...fn.environment,
      AWS_LAMBDA_MAX_CONCURRENCY: fn.environment?.AWS_LAMBDA_MAX_CONCURRENCY ?? '1000',
    };
  }
}

module.exports = { provideInvokeStore };
