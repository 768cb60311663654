// Lambda's init phase for each function, in-process. A function's bundle is an ES module whose
// top-level await is its init (lib/service.ts: configuration read, store built and answering), and
// importing the module waits for it. So each bundle is imported here, before serverless-offline's
// HTTP server listens, and a first burst of requests never waits for a module or a connection;
// serverless-offline imports the same URL later and Node hands it the same module.
// After a rebuild (an edit while `npm start` runs), the bundles are imported under a new URL: Node
// never drops an ES module it has loaded, so the same URL would keep serving the first build.
const { rmSync } = require('node:fs');
const { registerHooks } = require('node:module');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { pathToFileURL } = require('node:url');

/** The bundles' build, counted from 0 at startup; part of each bundle's URL after the first rebuild. */
let build = 0;
/** The folders (file URLs) whose bundles carry the build in their URL. */
const bundleFolders = new Set();

/** Every import of a bundle, serverless-offline's included, resolves to the current build's module. */
function resolveBundlesToCurrentBuild(folder) {
  if (bundleFolders.size === 0) {
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const resolved = nextResolve(specifier, context);
        const inFolder = [...bundleFolders].some((bundles) => resolved.url.startsWith(bundles));
        return build > 0 && inFolder ? { ...resolved, url: `${resolved.url}?build=${build}` } : resolved;
      },
    });
  }
  bundleFolders.add(pathToFileURL(`${folder}${path.sep}`).href);
}

class InitPhase {
  /** `write` prints one line; the functions are serverless.yml's, with their handlers. */
  constructor(serverless, options, write) {
    this.serverless = serverless;
    this.options = options;
    this.write = write;
  }

  /**
   * Before serverless-esbuild builds: serverless-offline loads `functions/hello.js` before
   * `functions/hello.mjs`, so a bundle an earlier build left (a checkout whose bundles were CommonJS)
   * would be served instead of this one.
   */
  forgetEarlierBuilds() {
    const esbuild = this.serverless.service.custom?.esbuild ?? {};
    const { servicePath } = this.serverless.config;
    const folder = path.resolve(
      servicePath,
      esbuild.outputWorkFolder ?? '.esbuild',
      esbuild.outputBuildFolder ?? '.build',
    );
    rmSync(folder, { recursive: true, force: true });
  }

  /** Where serverless-esbuild's bundles are: serverless-offline is pointed there through `location`. */
  bundleFolder() {
    const location = this.options.location ?? this.serverless.service.custom?.['serverless-offline']?.location ?? '';
    return path.resolve(this.serverless.config.servicePath, location);
  }

  /**
   * Runs the init phase of each function that serves an event, one after another: they share one
   * process.env here, and each module's top level must read its own function's environment.
   */
  async run(occasion = '') {
    const folder = this.bundleFolder();
    resolveBundlesToCurrentBuild(folder);
    const { provider, functions } = this.serverless.service;
    for (const [name, fn] of Object.entries(functions)) {
      if (!fn.events?.length || !fn.handler) continue;
      Object.assign(process.env, {
        ...provider.environment,
        ...fn.environment,
        AWS_LAMBDA_FUNCTION_NAME: fn.name ?? name,
        AWS_REGION: provider.region,
        IS_OFFLINE: 'true',
      });
      const bundle = path.join(folder, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.mjs`);
      const startedAt = performance.now();
      try {
        await import(pathToFileURL(bundle).href);
        this.write(`Function ${name} initialised in ${Math.round(performance.now() - startedAt)} ms${occasion}\n`);
      } catch (error) {
        // As in Lambda, each request meets the failure again (a syntax error until the next edit).
        this.write(`Function ${name} failed its init phase: ${error.message}\n`);
      }
    }
  }

  /** After serverless-esbuild rebuilt the bundles: the next import of each loads the new build. */
  rebuilt() {
    build += 1;
  }
}

module.exports = { InitPhase };
