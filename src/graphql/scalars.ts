import { GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { GraphQLCountryCode, GraphQLCurrency, GraphQLDateTime, GraphQLEmailAddress, GraphQLLocalDate } from "graphql-scalars";
import { isEmail } from "class-validator";

/*
 * Scalars reject bad input with plain errors, not GraphQLErrors: graphql-js then names the variable
 * path ("at input.currency") or the expected type of a literal, and the client sees BAD_USER_INPUT.
 */

/** Exact decimal amounts: at most 13 integer digits and 2 decimals, as DECIMAL(15,2) stores them. */
const DECIMAL_FORM = /^(0|[1-9]\d{0,12})(\.\d{1,2})?$/;

function parseDecimal(value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError('Decimal must be a string such as "125000.50", never a number (floats lose cents)');
  }
  const text = value.trim();
  if (text.startsWith("-")) throw new TypeError("Decimal must not be negative");
  if (!DECIMAL_FORM.test(text)) {
    throw new TypeError(`Decimal must have at most 13 digits before the point and 2 after, such as "125000.50"`);
  }
  return text;
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: "Decimal",
  description: 'An exact decimal amount serialized as a string, e.g. "125000.50". Never a float.',
  serialize: (value) => String(value),
  parseValue: parseDecimal,
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.STRING) throw new TypeError('Decimal must be a string such as "125000.50"');
    return parseDecimal(ast.value);
  },
});

function plainErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
}

/** A graphql-scalars scalar with our description, plain errors, and an extra step on parsed input. */
function refine<T>(base: GraphQLScalarType, description: string, refineValue: (value: T) => T = (value) => value) {
  const config = base.toConfig();
  return new GraphQLScalarType({
    ...config,
    description,
    parseValue: (value) => refineValue(plainErrors(() => config.parseValue!(value) as T)),
    parseLiteral: (ast, variables) => refineValue(plainErrors(() => config.parseLiteral!(ast, variables) as T)),
  });
}

const upperCase = (code: string) => code.toUpperCase();

export const CurrencyScalar = refine<string>(GraphQLCurrency, "An ISO 4217 currency code, e.g. EUR.", upperCase);

export const CountryCodeScalar = refine<string>(GraphQLCountryCode, "An ISO 3166-1 alpha-2 country code, e.g. FR.", upperCase);

export const EmailAddressScalar = refine<string>(GraphQLEmailAddress, "An e-mail address.", (email) => {
  if (email.length > 254 || !isEmail(email)) throw new TypeError(`not a deliverable e-mail address: ${email}`);
  return email;
});

const dateTime = refine<Date>(GraphQLDateTime, "An instant, ISO-8601 with offset, e.g. 2026-11-25T10:00:00.000Z.");
const serializeDateTime = dateTime.serialize;

/**
 * Serialized as the ISO string JSON would give the Date graphql-scalars answers: an answer holding
 * Date objects leaves V8's fast path of JSON.stringify (each one calls toJSON), a fifth of a page's CPU.
 */
export const DateTimeScalar = new GraphQLScalarType({
  ...dateTime.toConfig(),
  serialize: (value) => {
    const serialized = serializeDateTime(value);
    return serialized instanceof Date ? serialized.toISOString() : serialized;
  },
});

export const LocalDateScalar = refine<string>(GraphQLLocalDate, "A calendar date, YYYY-MM-DD.");
