/**
 * A fair (first come, first served) lock over SQLite's single write lock, shared by the
 * threads of one process through a SharedArrayBuffer: the main thread (HTTP) and the dispatch
 * worker (src/dispatcher/worker-host.ts) each have their own connection to the same file.
 *
 * SQLite alone would make a writer that finds the file locked sleep inside its busy handler —
 * 1 ms, then 2, 5, 10 … — blocking the main thread's event loop meanwhile, and a writer that
 * comes back often (the main thread's group commit) would starve one that polls (the worker).
 * Taking this lock before every write transaction makes writers queue in order instead, and
 * the main thread waits with `Atomics.waitAsync`, so its event loop goes on serving requests.
 *
 * Layout of the Int32Array: [0] next ticket, [1] ticket now served, [2] holder (0 none),
 * [3] 1 once disabled.
 */
export interface WriteLock {
  /** Runs `fn` holding the lock; `fn` must not take the lock again. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Turns the lock off for good: every waiter goes on at once and later calls do not wait.
   * For when the other thread is gone (it may have died holding the lock or a ticket).
   */
  disable(): void;
  /** The shared memory, to hand to another thread. */
  readonly buffer: SharedArrayBuffer;
}

/** `Atomics.waitAsync` (Node ≥ 16; typed in TypeScript's ES2024 lib, newer than this project's). */
const waitAsync = (Atomics as unknown as { waitAsync(cells: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

const NEXT = 0;
const SERVING = 1;
const HOLDER = 2;
const DISABLED = 3;

/**
 * @param buffer the shared memory (a new one when omitted)
 * @param holder this thread's id, non-zero and different from the other threads'
 */
export function createWriteLock(holder: number, buffer: SharedArrayBuffer = new SharedArrayBuffer(16)): WriteLock {
  if (!Number.isInteger(holder) || holder === 0) throw new RangeError('write lock holder must be a non-zero integer');
  const cells = new Int32Array(buffer);

  /** Resolves true holding the lock, or false when the lock was disabled meanwhile. */
  async function acquire(): Promise<boolean> {
    if (Atomics.load(cells, DISABLED) === 1) return false;
    const ticket = Atomics.add(cells, NEXT, 1);
    for (;;) {
      const serving = Atomics.load(cells, SERVING);
      if (Atomics.load(cells, DISABLED) === 1) return false;
      if (serving === ticket) break;
      const wait = waitAsync(cells, SERVING, serving);
      if (wait.async) await wait.value;
    }
    Atomics.store(cells, HOLDER, holder);
    return true;
  }

  function release(): void {
    Atomics.store(cells, HOLDER, 0);
    Atomics.add(cells, SERVING, 1);
    Atomics.notify(cells, SERVING);
  }

  return {
    buffer,
    async run(fn) {
      const held = await acquire();
      try {
        return await fn();
      } finally {
        if (held) release();
      }
    },
    disable() {
      Atomics.store(cells, DISABLED, 1);
      // Wake every waiter: each sees the flag and goes on.
      Atomics.add(cells, SERVING, 1);
      Atomics.notify(cells, SERVING);
    },
  };
}
