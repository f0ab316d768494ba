import { registerEnumType } from "type-graphql";

/** The languages e-mails are written in: the original text is French. */
export enum Locale {
  EN = "EN",
  FR = "FR",
}

registerEnumType(Locale, { name: "Locale", description: "The language of e-mails to a profile's contact or to a customer." });
