import { isStoreUnavailable, StoreUnavailableError, type StoreAvailability } from './availability.js';

type Waiting<A, R> = { args: A; resolve(r: R): void; reject(e: unknown): void };

export interface CallBatcherOptions {
  /** The most calls that go together. */
  maxBatch?: number;
  /** The most batches (or lone calls) running at once. */
  maxInFlight?: number;
  /** The store's: while its database is away, calls that would wait behind running batches fail at once. */
  availability?: StoreAvailability;
}

/**
 * Calls of one of otpgate's PostgreSQL functions in batches (docs/architecture.md, "The send on
 * PostgreSQL"): the calls that arrive while earlier batches are running go together in one
 * statement, `together`, which answers each as `alone` would, in one commit, instead of a round
 * trip, a woken backend and a WAL flush each. At most `maxInFlight` batches run at once, so a
 * quiet node makes each call on its own at once (`alone`) and a busy one makes larger batches.
 *
 * A batch that fails for anything but the store being away (an error raised for one of its
 * calls, a deadlock broken by failing it) wrote nothing: each of its calls is then made on its
 * own, so each gets its own answer or error. A batch cut off because the store is away is not
 * made again: each of its calls fails with that error.
 *
 * Once the store takes the database as away, the calls still queued fail with
 * StoreUnavailableError (503) at once, as does every call made while all slots are taken:
 * they wrote nothing, and would otherwise wait until the batches ahead of them, which wait
 * for the database, are answered or time out. The running batches keep waiting: their sends
 * may be committed, and complete once the database answers.
 */
export function createCallBatcher<A, R>(
  calls: { alone(args: A): Promise<R>; together(args: A[]): Promise<R[]> },
  options: CallBatcherOptions = {},
) {
  // Three at once gave the send bench's best rate and p99 on 2 cores (1 to 4 tried,
  // docs/performance.md); 16 to a batch keeps its locks few and its statement short.
  const maxBatch = options.maxBatch ?? 16;
  const maxInFlight = options.maxInFlight ?? 3;
  const queue: Waiting<A, R>[] = [];
  let inFlight = 0;
  let scheduled = false;
  const availability = options.availability;
  availability?.onAway((detail) => {
    if (queue.length === 0) return;
    const err = new StoreUnavailableError(`The database is not answering (${detail})`);
    for (const w of queue.splice(0)) w.reject(err);
  });

  async function run(batch: Waiting<A, R>[]): Promise<void> {
    if (batch.length === 1) {
      const [w] = batch;
      await calls.alone(w!.args).then(w!.resolve, w!.reject);
      return;
    }
    let answers: R[];
    try {
      answers = await calls.together(batch.map((w) => w.args));
    } catch (err) {
      if (isStoreUnavailable(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      for (const w of batch) await calls.alone(w.args).then(w.resolve, w.reject);
      return;
    }
    batch.forEach((w, i) => w.resolve(answers[i]!));
  }

  function flush(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        flush();
      });
    }
  }

  return {
    call(args: A): Promise<R> {
      if (availability?.away && inFlight >= maxInFlight) return Promise.reject(new StoreUnavailableError('The database is not answering'));
      return new Promise<R>((resolve, reject) => {
        queue.push({ args, resolve, reject });
        if (!scheduled && inFlight < maxInFlight) {
          scheduled = true;
          // The calls of this event-loop turn join the same batch.
          setImmediate(flush);
        }
      });
    },
  };
}
