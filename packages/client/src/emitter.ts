/**
 * A small typed event emitter: one payload per event, handlers called in order of
 * registration. A handler that throws does not stop the others; its error is rethrown from a
 * microtask so that it reaches the platform's unhandled-error reporting.
 * @module
 */

/** A handler of an event carrying `T`. */
export type Handler<T> = (payload: T) => void;

/**
 * Emitter holds handlers per event name of `Events` (a map of event name to payload type).
 */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<Handler<never>>>();

  /** Adds `handler` for `event`; adding the same handler twice has no effect. */
  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): void {
    let set = this.#handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    set.add(handler);
  }

  /** Removes `handler` from `event`. */
  off<K extends keyof Events>(event: K, handler: Handler<Events[K]>): void {
    this.#handlers.get(event)?.delete(handler);
  }

  /** Calls every handler of `event` with `payload`. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#handlers.get(event);
    if (set === undefined) return;
    for (const handler of [...set]) {
      try {
        (handler as Handler<Events[K]>)(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Removes every handler. */
  clear(): void {
    this.#handlers.clear();
  }
}
