import { registerEnumType } from "type-graphql";

export enum Role {
  ADMIN = "ADMIN",
  PARTNER = "PARTNER",
  INTAKE = "INTAKE",
  ANALYST = "ANALYST",
}

registerEnumType(Role, {
  name: "Role",
  description:
    "What a key may do: ADMIN everything; PARTNER its own partner's referrals and profiles; INTAKE submit RFIs; ANALYST read referrals and statistics.",
});
