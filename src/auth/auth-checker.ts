import type { AuthCheckerFn } from "type-graphql";
import type { RequestContext } from "../graphql/context.js";
import { forbidden } from "../graphql/errors.js";
import type { Role } from "../graphql/role.js";

/** Every request is authenticated before it resolves; `@Authorized(roles)` then only checks the role. */
export const authChecker: AuthCheckerFn<RequestContext, Role> = ({ context, info }, roles) => {
  if (roles.length === 0 || roles.includes(context.caller.role)) return true;
  throw forbidden(`${info.fieldName} needs a key with role ${roles.join(" or ")}; this key is ${context.caller.role}`);
};
