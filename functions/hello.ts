import { greeting, HELLO_KEY } from '../lib/hello';
import { getRoute } from '../lib/http';
import { getService } from '../lib/service';

/** GET /hello: sets the count to 1 and (re)opens the window. */
export const handler = getRoute(async () => {
  const { store, config } = getService();
  const count = await store.start(HELLO_KEY, config.windowMs);
  return { outcome: 'opened', body: greeting(count), count };
});
