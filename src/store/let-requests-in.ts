/**
 * Resolves after the event loop has taken in what waits (requests, I/O). A SQLite statement runs
 * on this thread and its promise resolves as a microtask, so a loop of statements would never let
 * a request in between them: a long read split into chunks awaits this between chunks.
 */
export function letRequestsIn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
