/**
 * Request metrics applied to prom-client in batches. prom-client validates and hashes the labels
 * on every `inc` and `observe`. On the request path, between TLS, HTTP parsing and the upstream
 * client, that code and its data have left the CPU caches, and each call costs several times what
 * it costs in a loop. So a request only records its counter, its histogram and its duration, and
 * the batch goes to prom-client every {@link BATCH_SIZE} requests and before every read of the
 * registry (the metrics' `collect` hook): a scrape always sees every request.
 * @module
 */
import type { Counter, Histogram, Registry } from 'prom-client';

/** Requests recorded before they are applied to prom-client. */
export const BATCH_SIZE = 64;

/** One proxy's requests not yet applied to its counters and histogram. */
export class RequestBatch {
  readonly #counters: Counter.Internal[] = [];
  readonly #histograms: Histogram.Internal<string>[] = [];
  readonly #durationsS = new Float64Array(BATCH_SIZE);
  #size = 0;
  /** Released with its proxy: no registry read applies it any more, so every add applies. */
  #released = false;

  /** Records one request: `counter` goes up by one, `histogram` observes `durationS`. */
  add(counter: Counter.Internal, histogram: Histogram.Internal<string>, durationS: number): void {
    const at = this.#size;
    this.#counters[at] = counter;
    this.#histograms[at] = histogram;
    this.#durationsS[at] = durationS;
    this.#size = at + 1;
    if (this.#size === BATCH_SIZE || this.#released) this.apply();
  }

  /** Applies what is recorded, and from now on every request as it is added. */
  release(): void {
    this.#released = true;
    this.apply();
  }

  /** Applies what is recorded: one `inc` per run of the same counter, one `observe` each. */
  apply(): void {
    const size = this.#size;
    this.#size = 0;
    let run = 0;
    for (let at = 0; at < size; at++) {
      const counter = this.#counters[at];
      const histogram = this.#histograms[at];
      if (counter === undefined || histogram === undefined) continue;
      run++;
      if (at + 1 === size || this.#counters[at + 1] !== counter) {
        counter.inc(run);
        run = 0;
      }
      histogram.observe(this.#durationsS[at] ?? 0);
    }
  }
}

/** The batches of every proxy whose metrics live in a registry. */
const batchesByRegistry = new WeakMap<Registry, Set<RequestBatch>>();

/** Creates the batch of a proxy whose metrics live in `registry`. */
export function createRequestBatch(registry: Registry): RequestBatch {
  const batch = new RequestBatch();
  let batches = batchesByRegistry.get(registry);
  if (batches === undefined) {
    batches = new Set();
    batchesByRegistry.set(registry, batches);
  }
  batches.add(batch);
  return batch;
}

/**
 * Releases a closed proxy's batch: applied now, and every later request (the last exchanges
 * ending) applied at once, no longer with the registry's other batches.
 */
export function releaseRequestBatch(registry: Registry, batch: RequestBatch): void {
  batch.release();
  batchesByRegistry.get(registry)?.delete(batch);
}

/** Applies the batches of every proxy in `registry` (the `collect` hook of its metrics). */
export function applyRequestBatches(registry: Registry): void {
  const batches = batchesByRegistry.get(registry);
  if (batches === undefined) return;
  for (const batch of batches) batch.apply();
}
