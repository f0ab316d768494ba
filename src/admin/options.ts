// How the admin CLI reads its options: through the API's own scalars and input rules, so that the
// CLI and GraphQL accept the same values, and refusals name the option (--region, --expires, ...).
import { validate } from "class-validator";
import type { GraphQLScalarType } from "graphql";
import { parseDuration } from "../config/values.js";
import { DateTimeScalar } from "../graphql/scalars.js";
import { UsageError } from "./tool.js";

/** A value through the GraphQL scalar the API reads it with, so that both accept the same. */
export function scalar<T>(type: GraphQLScalarType, option: string, raw: string): T {
  try {
    return type.parseValue(raw) as T;
  } catch (error) {
    throw new UsageError(`--${option}: ${(error as Error).message}`);
  }
}

export function oneOf<T extends string>(values: Record<string, T>, option: string, raw: string): T {
  const value = raw.trim().toUpperCase();
  const allowed = Object.values(values);
  if (!allowed.includes(value as T)) throw new UsageError(`--${option} must be one of ${allowed.join(", ")} (got "${raw}")`);
  return value as T;
}

export function list(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** An id as the API takes it: digits (a row id), else nothing by that id exists. */
export function id(option: string, raw: string): string {
  const value = raw.trim();
  if (!/^[1-9]\d{0,17}$/.test(value)) throw new UsageError(`--${option} must be an id such as 12 (got "${raw}")`);
  return value;
}

/** Runs the API's input rules (class-validator) on an input object, naming the offending option. */
export async function checked<T extends object>(input: T, optionOf: Record<string, string>): Promise<T> {
  const [problem] = await validate(input, { forbidUnknownValues: false });
  if (problem) {
    const message = Object.values(problem.constraints ?? {})[0] ?? "is not valid";
    throw new UsageError(
      `--${optionOf[problem.property] ?? problem.property}: ${message.replace(new RegExp(`^${problem.property} `), "")}`,
    );
  }
  return input;
}

/** `--expires`: a duration from now (90d, 12h) or an instant (2027-01-31T00:00:00Z). */
export function expiry(raw: string): Date {
  const duration = parseDuration(raw.trim());
  if (duration !== undefined) return new Date(Date.now() + duration);
  try {
    return DateTimeScalar.parseValue(raw.trim()) as Date;
  } catch {
    throw new UsageError(
      `--expires must be a duration from now such as 90d or 12h, or an instant such as 2027-01-31T00:00:00Z (got "${raw}")`,
    );
  }
}
