import { EXPIRED, greeting, HELLO_KEY } from '../lib/hello';
import { getRoute } from '../lib/http';
import { getService } from '../lib/service';

/** GET /hello/again: the next number while the window is open, else "Expired!". */
export const handler = getRoute(async () => {
  const { store } = getService();
  const count = await store.increment(HELLO_KEY);
  return count === null ? { outcome: 'expired', body: EXPIRED } : { outcome: 'counted', body: greeting(count), count };
});
