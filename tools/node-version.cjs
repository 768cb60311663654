// Lambda runs this service on nodejs24.x, and so does everything here. On a machine whose Node is
// older, npm ci installs Node 24 from the npm registry (package.json's optional dependency `node`),
// and npm scripts and npx find it first on their PATH: only a command run outside npm meets the old one.
const REQUIRED_MAJOR = 24;

/** One line that says what to do, or undefined when this Node will do. */
function unsupportedNode(version = process.versions.node) {
  if (Number(version.split('.')[0]) >= REQUIRED_MAJOR) return undefined;
  return (
    `elecle-hello needs Node.js ${REQUIRED_MAJOR} (as Lambda's nodejs24.x); this is Node.js ${version}. ` +
    `Run it through npm (npm start, npm test, npx sls ...), which uses the Node ${REQUIRED_MAJOR} that npm ci ` +
    `installed, or install Node ${REQUIRED_MAJOR} (.node-version).`
  );
}

/** Stops this process with that line (no stack trace) when this Node will not do. */
function exitUnlessSupportedNode() {
  const problem = unsupportedNode();
  if (problem === undefined) return;
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

module.exports = { REQUIRED_MAJOR, unsupportedNode, exitUnlessSupportedNode };
