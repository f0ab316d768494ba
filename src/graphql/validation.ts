import { getNamedType } from "graphql";
import { Matches, validate, type ValidationError } from "class-validator";
import type { ValidatorFn } from "type-graphql";
import { ErrorCode } from "./error-codes.js";
import { AppError } from "./errors.js";
import { ONE_LINE } from "./one-line.js";

/** A required string must hold something other than white space. */
export const NotBlank = (each = false) => Matches(/\S/, { message: "must not be blank", each });

/**
 * Text shown to others as one line (a partner's name and location, which other partners' customers
 * read in their e-mails) may not lay itself out (one-line.ts).
 */
export const SingleLine = (each = false) => Matches(ONE_LINE, { message: "must be one line of text, without control characters", each });

interface Problem {
  field: string;
  message: string;
}

function problemsOf(errors: ValidationError[], prefix: string): Problem[] {
  return errors.flatMap((error) => {
    const field = `${prefix}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...problemsOf(error.children ?? [], field)];
  });
}

/**
 * Runs class-validator on every input object argument and reports the problems as BAD_USER_INPUT,
 * naming the field by its path from the argument (`input.customer.email`).
 */
export const validateArguments: ValidatorFn = async (value, type, { info }) => {
  if (value === null || typeof value !== "object") return;
  const typeName = typeof type === "function" ? type.name : undefined;
  const argument = info.parentType.getFields()[info.fieldName]?.args.find((arg) => getNamedType(arg.type).name === typeName);
  const prefix = argument?.name ?? "input";
  // A list argument of enums or scalars (e.g. `groupBy: [StatsDimension!]`) has nothing for class-validator.
  const items = (Array.isArray(value) ? value : [value]).filter(
    (item: unknown): item is object => item !== null && typeof item === "object",
  );
  for (const item of items) {
    const problems = problemsOf(await validate(item, { forbidUnknownValues: false }), prefix);
    if (problems.length > 0) {
      const [first] = problems;
      throw new AppError(ErrorCode.BAD_USER_INPUT, `${first.field}: ${first.message}`, {
        field: first.field,
        problems,
      });
    }
  }
};
