// The deployed HTTP API's routing and header rules, added to serverless-offline's HTTP server (a hapi
// server). serverless-offline 14.8 has no option for them (docs/local-vs-api-gateway.md): it reflects
// every Origin with credentials, answers OPTIONS 200, strips trailing slashes, resolves dot segments
// and percent-escapes, serves Range requests 206 and answers 404 with a JSON list of every route.

/** What API Gateway answers when no route matches (documented for HTTP APIs). */
const NOT_FOUND = { message: 'Not Found' };
/** serverless-offline's catch-all route, which answers that list. */
const CATCH_ALL = '/{p*}';

/** No CORS is configured on the deployed API, so none is answered here either. */
function installHttpApiRules(server) {
  const routes = server.table().filter((route) => route.path !== CATCH_ALL);
  for (const route of routes) route.settings.response.ranges = false; // API Gateway sends the whole body
  const matchers = routes.map((route) => ({ method: route.method, pattern: pathPattern(route.path) }));

  // Routing on the path exactly as sent, before hapi's normalisation: no trailing-slash stripping, no
  // dot segments, no percent-decoding. A method must match its route: HEAD and OPTIONS do not reach GET.
  server.ext('onRequest', (request, h) => {
    const rawPath = (request.raw.req.url ?? '/').split('?')[0];
    const method = request.method.toLowerCase();
    const matched = matchers.some((m) => (m.method === method || m.method === '*') && m.pattern.test(rawPath));
    if (matched) return h.continue;
    request.app.matchesNoRoute = true;
    return h.response(NOT_FOUND).code(404).type('application/json').takeover();
  });

  // Runs after serverless-offline's own onPreResponse, which adds the CORS headers.
  server.ext('onPreResponse', (request, h) => {
    const response = request.response;
    const headers = response.isBoom ? response.output.headers : response.headers;
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase().startsWith('access-control-')) delete headers[name];
    }
    // serverless-offline turns every OPTIONS with an Origin into a 200 preflight answer.
    if (request.app.matchesNoRoute && !response.isBoom) response.code(404);
    return h.continue;
  });
}

/** A hapi route path as a regular expression over the raw path: `{id}` one segment, `{p*}`/`{p+}` the rest. */
function pathPattern(path) {
  const source = path
    .split('/')
    .map((segment) => {
      if (/^\{\w+[*+]\}$/.test(segment)) return '.+';
      if (/^\{\w+\??\}$/.test(segment)) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

module.exports = { installHttpApiRules };
