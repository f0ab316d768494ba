import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request, RequestHandler, Response } from "express";
import { pinoHttp } from "pino-http";
import type { Logger } from "pino";
import { LOG_SERIALIZERS } from "../logging/logger.js";
import { serializeRequest, serializeResponse } from "../logging/serializers.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** An incoming request id is kept when it is 1 to 128 of these characters; anything else is replaced. */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The probes and the scraper: logged at debug level unless they fail, so that they do not drown the log. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** The caller's id when it is acceptable, else a new UUID. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === "string" && ACCEPTED_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function pathOf(req: IncomingMessage): string {
  const url = (req as Request).originalUrl ?? req.url ?? "";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** The GraphQL operation of the request, once Apollo resolved it (see request-scope.ts). */
function operationOf(res: ServerResponse): Record<string, unknown> {
  const operation = (res as Response).locals?.requestScope?.operation;
  return operation ? { operation: operation.name, operationType: operation.type, rootField: operation.field } : {};
}

/**
 * Gives every HTTP request an id (`x-request-id`, kept from the caller when acceptable), returns it in
 * the response header, binds it as `requestId` on `req.log` (every line logged for the request), and
 * writes one access line per request: method, path, status, duration (`responseTime`, ms), and the
 * GraphQL operation's name, type and root field when there is one. Mount it first.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const id = requestIdFor(req.headers[REQUEST_ID_HEADER]);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customAttributeKeys: { reqId: "requestId" },
    // `req.log` carries only the id; the access line carries the request itself.
    quietReqLogger: true,
    // pino-http would otherwise put pino's standard error serializer back on its children, and run
    // the standard ones (which copy everything) before these.
    wrapSerializers: false,
    serializers: { ...LOG_SERIALIZERS, req: serializeRequest, res: serializeResponse },
    customLogLevel: (req, res, error) => {
      const quiet = QUIET_PATHS.has(pathOf(req));
      if (error || res.statusCode >= 500) return quiet ? "warn" : "error";
      return quiet ? "debug" : "info";
    },
    customSuccessObject: (_req, res, value) => ({ ...value, ...operationOf(res) }),
    customErrorObject: (_req, res, _error, value) => ({ ...value, ...operationOf(res) }),
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}${res.writableEnded ? "" : " (aborted)"}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
  }) as unknown as RequestHandler;
}
