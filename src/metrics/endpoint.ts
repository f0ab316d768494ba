import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Metrics } from "./metrics.js";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Whether `authorization` is `Bearer <token>`, compared in constant time (on digests: equal lengths). */
function bearerMatches(authorization: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return timingSafeEqual(digest(match?.[1] ?? ""), expected) && match !== null;
}

/**
 * GET /metrics: the Prometheus text of `metrics`. With a token (METRICS_TOKEN), a request without
 * `Authorization: Bearer <token>` gets 401 and nothing else.
 */
export function metricsEndpoint(metrics: Metrics, token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (req: Request, res: Response) => {
    res.set("cache-control", "no-store");
    if (expected && !bearerMatches(req.headers.authorization, expected)) {
      res
        .status(401)
        .set("www-authenticate", 'Bearer realm="metrics"')
        .type("text/plain")
        .send("401 Unauthorized: GET /metrics needs Authorization: Bearer <METRICS_TOKEN>\n");
      return;
    }
    try {
      const text = await metrics.registry.metrics();
      res.set("content-type", metrics.registry.contentType).send(text);
    } catch (error) {
      req.log.error({ err: error }, "could not collect the metrics");
      res.status(500).type("text/plain").send("500 Internal Server Error: could not collect the metrics\n");
    }
  };
}
