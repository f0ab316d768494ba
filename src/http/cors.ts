import cors from "cors";
import type { RequestHandler } from "express";

/**
 * CORS for /graphql (CORS_ORIGINS): a browser page on one of `origins` may call the API with its key
 * in `Authorization`; any other origin gets no Access-Control-Allow-Origin, so its browser refuses the
 * answer (none is allowed by default). Keys are bearer tokens, never cookies: no credentials mode.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  return cors({
    origin: [...origins],
    methods: ["GET", "POST"],
    allowedHeaders: ["Authorization", "Content-Type", "X-Request-Id", "Apollo-Require-Preflight", "X-Apollo-Operation-Name"],
    exposedHeaders: ["Retry-After", "X-Request-Id"],
    maxAge: 600,
  });
}
