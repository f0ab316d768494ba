import { registerEnumType } from "type-graphql";

export enum CompanySize {
  SIZE_1_TO_9 = "SIZE_1_TO_9",
  SIZE_10_TO_49 = "SIZE_10_TO_49",
  SIZE_50_TO_249 = "SIZE_50_TO_249",
  SIZE_250_TO_999 = "SIZE_250_TO_999",
  SIZE_1000_TO_4999 = "SIZE_1000_TO_4999",
  SIZE_5000_PLUS = "SIZE_5000_PLUS",
}

registerEnumType(CompanySize, { name: "CompanySize", description: "Size of the customer's company, in employees." });
