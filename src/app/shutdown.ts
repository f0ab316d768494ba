// How the process stops on SIGTERM or SIGINT: within a deadline, else anyway.
import type { IncomingMessage } from "node:http";
import { poolUsage } from "../db/pool.js";
import type { Logger } from "../logging/logger.js";
import type { RunningServer } from "./server.js";

/** What was still open when the deadline passed, as far as the process can tell. */
export interface StillOpen {
  /** HTTP requests not answered yet, as `METHOD path`. */
  httpRequests: string[];
  liveSockets: number;
  databaseConnectionsInUse: number;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function describe({ httpRequests, liveSockets, databaseConnectionsInUse }: StillOpen): string {
  const parts: string[] = [];
  if (httpRequests.length > 0) {
    const shown = [...new Set(httpRequests)].slice(0, 3).join(", ");
    parts.push(`${plural(httpRequests.length, "HTTP request")} still open (${shown})`);
  }
  if (liveSockets > 0) parts.push(`${plural(liveSockets, "WebSocket")} still open`);
  if (databaseConnectionsInUse > 0) parts.push(`${plural(databaseConnectionsInUse, "database connection")} still in use`);
  return parts.length > 0 ? parts.join(", ") : "no request, socket or database connection open: background work did not end";
}

/**
 * SIGTERM or SIGINT stops the server (no new requests or jobs, running work finishes) and the
 * process exits 0. A stop that outlasts `timeoutMs` (SHUTDOWN_TIMEOUT) is abandoned: one error line
 * says what was still open, and the process exits 1. A second signal during the stop exits 1 at once.
 */
export function stopOnSignals(server: RunningServer, logger: Logger, timeoutMs: number, exit: (code: number) => void = process.exit): void {
  // Named on arrival, before express (the other listener) rewrites `req.url` as it routes.
  const openRequests = new Map<IncomingMessage, string>();
  server.httpServer.prependListener("request", (req: IncomingMessage, res) => {
    openRequests.set(req, `${req.method} ${req.url?.split("?")[0]}`);
    res.once("close", () => openRequests.delete(req));
  });
  const stillOpen = (): StillOpen => {
    let databaseConnectionsInUse = 0;
    try {
      databaseConnectionsInUse = poolUsage(server.db).inUse;
    } catch {
      // The pool is closed already.
    }
    return {
      httpRequests: [...openRequests.values()],
      liveSockets: server.live.sockets,
      databaseConnectionsInUse,
    };
  };

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.error({ signal, stillOpen: stillOpen() }, `${signal} again while stopping: exiting at once, code 1`);
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, "stopping");
    const deadline = setTimeout(() => {
      const open = stillOpen();
      logger.error(
        { timeoutMs, stillOpen: open },
        `the stop did not finish within SHUTDOWN_TIMEOUT (${timeoutMs} ms): ${describe(open)}; exiting anyway, code 1`,
      );
      exit(1);
    }, timeoutMs);
    server.stop().then(
      () => {
        clearTimeout(deadline);
        logger.info("stopped");
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        logger.error({ err }, "the stop failed; exiting, code 1");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
