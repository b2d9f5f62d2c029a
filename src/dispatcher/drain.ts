import { setMaxListeners } from 'node:events';

/**
 * The controller a process drains its outbound calls with. Every call in flight listens on its
 * signal (attemptSignal, the event worker's requests), so it has no listener cap: past 10,
 * Node 20 would print a MaxListenersExceededWarning under ordinary load.
 */
export function drainController(): AbortController {
  const drain = new AbortController();
  setMaxListeners(0, drain.signal);
  return drain;
}
