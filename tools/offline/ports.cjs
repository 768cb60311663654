// The ports `sls offline` listens on: a taken one stops startup with one line saying what to do
// (serverless-offline alone prints a stack trace), and the Lambda invoke port follows the HTTP port.
const net = require('node:net');

/**
 * Checks the HTTP port, and the invoke port when one is configured. serverless-offline's fixed
 * default invoke port (3002) would make a second copy on another HTTP port fail: without one, it
 * follows the HTTP port (8000 -> 8002), or takes any free port. Returns the invoke port to pass to
 * serverless-offline, or undefined when the configured one stands.
 */
async function choosePorts({ host, httpPort, lambdaPort }, refuse) {
  await requireFree(host, httpPort, '--httpPort', refuse);
  if (lambdaPort !== undefined) {
    await requireFree(host, Number(lambdaPort), '--lambdaPort', refuse);
    return undefined;
  }
  const derived = httpPort + 2;
  return derived <= 65535 && (await isFree(host, derived)) ? derived : anyFreePort(host);
}

async function requireFree(host, port, option, refuse) {
  if (await isFree(host, port)) return;
  refuse(
    `Port ${port} on ${host} is already in use. Stop what uses it (lsof -i :${port}), or choose another: ` +
      `npm start -- ${option} ${port === 8000 ? 8080 : port + 10}`,
  );
}

function isFree(host, port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

function anyFreePort(host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

module.exports = { choosePorts };
