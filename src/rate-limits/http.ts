import type { ApolloServerPlugin } from "@apollo/server";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { ApiKeyService } from "../auth/index.js";
import type { Caller } from "../graphql/caller.js";
import type { RequestContext } from "../graphql/context.js";
import { documentCost } from "./cost.js";
import { isRefusedKey, rateLimitedError, type RateLimitRefusal, type RateLimits } from "./rate-limits.js";

declare global {
  namespace Express {
    interface Locals {
      /** The request's key, checked once by the rate limiter; the GraphQL context reuses it. */
      caller?: Caller;
      /** Why the request's key was refused, thrown again by the GraphQL context. */
      authenticationFailure?: unknown;
    }
  }
}

/** HTTP 429 with `Retry-After`, and a GraphQL-shaped body as every other refusal of the API (with the request's id, when it has one). */
function tooManyRequests(req: Request, res: Response, refusal: RateLimitRefusal): void {
  const { message, extensions } = rateLimitedError(refusal);
  const requestId = (req as { id?: unknown }).id;
  const body = { errors: [{ message, extensions: requestId === undefined ? extensions : { ...extensions, requestId } }] };
  res.status(429).set("retry-after", String(refusal.retryAfterSeconds)).json(body);
}

/** The client's address: the socket's, or the client behind the proxies TRUST_PROXY names (express's `trust proxy`). */
function addressOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? "unknown";
}

/**
 * Counts every GraphQL request against its limit before Apollo sees it: one unit, the rest of an
 * operation's cost once Apollo has parsed it (chargeOperationCost). It authenticates the key once:
 * the GraphQL context takes the outcome from `res.locals` (requestCaller), so a request looks its
 * key up once, not twice.
 *
 * - no key: the address's anonymous limit (the request then fails UNAUTHENTICATED as before);
 * - a key, from an address that used up its failed authentications: 429 before the key is looked up;
 * - a valid key: the key's limit;
 * - a bad, unknown or revoked key: one failed authentication for the address (then 401, or 429 once over).
 */
export function limitRequests(rateLimits: RateLimits, apiKeys: ApiKeyService): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    // A CORS preflight carries no key and runs nothing; counting it would halve a browser's allowance.
    if (req.method === "OPTIONS") return next();
    try {
      const refusal = await check(req, res, rateLimits, apiKeys);
      if (refusal) return tooManyRequests(req, res, refusal);
      next();
    } catch (error) {
      next(error);
    }
  };
}

async function check(req: Request, res: Response, rateLimits: RateLimits, apiKeys: ApiKeyService): Promise<RateLimitRefusal | undefined> {
  const authorization = req.headers.authorization;
  const address = addressOf(req);
  if (!authorization?.trim()) return rateLimits.forAnonymous(address, 1);
  const blocked = await rateLimits.failedAuthBlocked(address);
  if (blocked) return blocked;
  try {
    res.locals.caller = await apiKeys.authenticate(authorization);
  } catch (error) {
    res.locals.authenticationFailure = error;
    // Only a refused key counts as a failed authentication; a database that failed to answer does not.
    return isRefusedKey(error) ? rateLimits.failedAuthentication(address) : undefined;
  }
  return rateLimits.forKey(res.locals.caller.keyId, 1);
}

/**
 * Charges the key what the operation costs beyond the unit limitRequests took (statistics cost more,
 * src/rate-limits/cost.ts), from the document Apollo parsed: whatever form the request came in (query
 * text, a persisted query's hash alone, GET or POST), it pays for what it runs. Over the limit, it is
 * refused with 429 and Retry-After before anything runs.
 */
export function chargeOperationCost(rateLimits: RateLimits): ApolloServerPlugin<RequestContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ document, contextValue }) => {
        const extra = documentCost(document) - 1;
        if (extra === 0) return;
        const refusal = await rateLimits.forKey(contextValue.caller.keyId, extra);
        if (refusal)
          throw rateLimitedError(refusal, { status: 429, headers: new Map([["retry-after", String(refusal.retryAfterSeconds)]]) });
      },
    }),
  };
}

/** The caller of a request that went through limitRequests; its refusal (UNAUTHENTICATED…) is thrown. */
export async function requestCaller(req: Request, res: Response, apiKeys: ApiKeyService): Promise<Caller> {
  if (res.locals.caller) return res.locals.caller;
  if (res.locals.authenticationFailure !== undefined) throw res.locals.authenticationFailure;
  // No key at all: refused at once, without the database.
  return apiKeys.authenticate(req.headers.authorization);
}
