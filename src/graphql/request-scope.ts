import type { ApolloServerPlugin } from "@apollo/server";
import type { Request, Response } from "express";
import type { Logger } from "pino";

/**
 * One HTTP request as the GraphQL layer sees it: its id (x-request-id), the logger whose lines carry
 * that id (pino-http's `req.log`), and the operation once Apollo has resolved it (for the access log).
 */
export interface RequestScope {
  /** Absent over WebSocket: a socket's lines carry its `socketId` through `log` instead. */
  readonly requestId?: string;
  readonly log: Logger;
  operation?: { name: string | null; type: string; field: string };
}

declare global {
  namespace Express {
    interface Locals {
      /** The request's scope, shared by the GraphQL context and the access log (src/http/request-log.ts). */
      requestScope?: RequestScope;
    }
  }
}

/** The scope of an HTTP request that went through the request logger (src/http/request-log.ts). */
export function requestScopeOf(req: Request, res: Response): RequestScope {
  return (res.locals.requestScope ??= { requestId: String(req.id), log: req.log });
}

/**
 * Apollo's formatError has no request context: the errors of a request are tied to its scope here,
 * before they are formatted (Apollo formats the very objects it reported), so that the formatter can
 * add `extensions.requestId` and log on the request's logger.
 */
const scopes = new WeakMap<object, RequestScope>();

export function tieToScope(error: unknown, scope: RequestScope): void {
  if (typeof error === "object" && error !== null) scopes.set(error, scope);
}

/** The scope an error (or the error it wraps) was tied to, if any. */
export function scopeOfError(error: unknown): RequestScope | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  return scopes.get(error) ?? scopeOfError((error as { originalError?: unknown }).originalError ?? undefined);
}

/** Ties every error Apollo reports for a request (parse, validation, limits, execution) to the request's scope. */
export function requestScopePlugin<C extends { request?: RequestScope }>(): ApolloServerPlugin<C> {
  return {
    requestDidStart: async ({ contextValue }) => {
      const scope = contextValue.request;
      if (!scope) return;
      return {
        didEncounterErrors: async ({ errors }) => {
          for (const error of errors) tieToScope(error, scope);
        },
      };
    },
  };
}

/**
 * The GraphQL context of an HTTP request, with its scope: `build` makes the rest. What `build`
 * throws (UNAUTHENTICATED, RATE_LIMITED…) is tied to the scope too, since Apollo formats it without
 * running any request hook.
 */
export function withRequestScope<C extends object>(
  build: (args: { req: Request; res: Response }) => Promise<C>,
): (args: { req: Request; res: Response }) => Promise<C & { request: RequestScope }> {
  return async (args) => {
    const request = requestScopeOf(args.req, args.res);
    try {
      return Object.assign(await build(args), { request });
    } catch (error) {
      tieToScope(error, request);
      throw error;
    }
  };
}
