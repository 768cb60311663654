// serverless-esbuild's plugins (custom.esbuild.plugins): the packages a stage leaves out of its
// bundles (deploy/stores/*.yml bundleExclude) are each imported by the adapter of a store that stage
// does not use. An ES module bundle would import them at its top (esbuild hoists every external
// import there), so loading it would fail without them: each is required where the adapter uses it
// instead, which never happens on that stage.
const NAMESPACE = 'required-where-used';

/** Whether `path` is one of the excluded packages (`@aws-sdk/*` names a scope) or a file inside one. */
function isExcluded(path, excluded) {
  return excluded.some((name) =>
    name.endsWith('/*') ? path.startsWith(name.slice(0, -1)) : path === name || path.startsWith(`${name}/`),
  );
}

const requiredWhereUsed = {
  name: 'required-where-used',
  setup(build) {
    const excluded = build.initialOptions.external ?? [];
    build.onResolve({ filter: /^[^./]/ }, ({ path, namespace }) => {
      if (!isExcluded(path, excluded)) return undefined;
      // The stand-in's own require() stays external: the package is looked for when it runs.
      return namespace === NAMESPACE ? { path, external: true } : { path, namespace: NAMESPACE };
    });
    // A CommonJS stand-in: esbuild runs it only when the module importing it first runs.
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(path)});`,
      loader: 'js',
    }));
  },
};

module.exports = [requiredWhereUsed];
