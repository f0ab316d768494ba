import type { Caller } from "./caller.js";
import type { Loaders } from "./loaders.js";
import type { RequestScope } from "./request-scope.js";

/** A resolver class, as type-graphql hands it to its container. */
// biome-ignore lint/suspicious/noExplicitAny: resolver classes take their services in their constructors, whatever they are.
export type ResolverClass = abstract new (...services: any[]) => object;

/**
 * One server's resolvers, each built with that server's services (src/app/): type-graphql's container.
 * The schema is built once per process, so the container comes with each request's context.
 */
export interface ResolverInstances {
  get(resolverClass: ResolverClass): object;
}

/** What every resolver receives: who calls, this request's (or this live event's) loaders, and the server's resolvers. */
export interface RequestContext {
  caller: Caller;
  loaders: Loaders;
  resolvers: ResolverInstances;
  /** Over a WebSocket, for a subscribe message: the live server's hold on the operation (src/live/live-request.ts). */
  live?: object;
  /** Over HTTP: the request's id and logger (src/graphql/request-scope.ts). */
  request?: RequestScope;
}
