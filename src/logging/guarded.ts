import type { Logger } from "pino";

/**
 * A listener for a library's event emitter that cannot take the process down. Node runs listeners
 * inside the library's `emit`, often from a socket callback or `process.nextTick`, where a throw is an
 * uncaught exception and ends the process: whatever `listener` throws (or the promise it returns
 * rejects with) is logged instead, naming the event.
 */
export function guarded<A extends unknown[]>(logger: Logger, event: string, listener: (...args: A) => unknown): (...args: A) => void {
  const failed = (err: unknown) => {
    try {
      logger.error({ err }, `the listener of ${event} failed`);
    } catch {
      // A log line that cannot be written must not end the process either.
    }
  };
  return (...args) => {
    try {
      const result = listener(...args);
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  };
}
