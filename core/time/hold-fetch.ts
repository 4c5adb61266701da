import { holdWhile, type Clock } from './clock.js';

/**
 * `fetchFn` that holds a virtual clock until the response body has arrived:
 * a loopback round trip is real I/O the event loop does not show as
 * pending, and without the hold time would jump ahead of it (timeouts
 * firing, the caller's audio running on). The body is read inside the hold
 * and handed back as a fresh Response. On the real clock it is `fetchFn`.
 */
export function holdingFetch(clock: Clock, fetchFn: typeof fetch): typeof fetch {
  if (!clock.hold) return fetchFn;
  return (input, init) =>
    holdWhile(
      clock,
      (async () => {
        const res = await fetchFn(input, init);
        const body = res.status === 204 || res.status === 304 ? null : await res.arrayBuffer();
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      })(),
    );
}
