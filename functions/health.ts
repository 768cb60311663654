import { getRoute } from '../lib/http';
import { getService } from '../lib/service';

/** GET /health: "ok" when the counter store answers a read that changes nothing; never touches the window. */
export const handler = getRoute(async () => {
  const { store } = getService();
  await store.ping();
  return { outcome: 'healthy', body: 'ok' };
});
