import { createPubSub } from "@graphql-yoga/subscription";
import { printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { authChecker } from "../auth/auth-checker.js";
import type { RequestContext } from "../graphql/context.js";
import { DateTimeScalar } from "../graphql/scalars.js";
import { validateArguments } from "../graphql/validation.js";
import { RESOLVERS } from "./services.js";

let built: Promise<GraphQLSchema> | undefined;

/** The executable schema; type-graphql's metadata is global, so it is built once per process. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: RESOLVERS,
    // Each server's resolvers come with the request: the schema is shared by every server in the process.
    container: ({ context }) => (context as RequestContext).resolvers,
    authChecker,
    validateFn: validateArguments,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // type-graphql insists on one; the live feed resolvers subscribe through their own.
    pubSub: createPubSub(),
  });
  return built;
}

const HEADER = `# Emitted by type-graphql from src/ (npm run schema); do not edit by hand.\n\n`;

/** The SDL committed as schema/schema.graphql. */
export async function printAppSchema(): Promise<string> {
  return `${HEADER}${printSchema(await buildAppSchema())}\n`;
}
