import { Field, ObjectType } from "type-graphql";
import { CurrencyScalar, DecimalScalar } from "../graphql/scalars.js";

@ObjectType({ simpleResolvers: true, description: "An exact amount in one currency." })
export class Money {
  @Field(() => DecimalScalar)
  amount: string;

  @Field(() => CurrencyScalar)
  currency: string;
}

export function moneyOf(amount: string | null, currency: string | null): Money | null {
  return amount === null || currency === null ? null : { amount, currency };
}
