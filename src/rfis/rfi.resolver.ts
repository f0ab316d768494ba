import { Arg, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { Role } from "../auth/role.js";
import type { RequestContext } from "../graphql/context.js";
import { overviewOf, Rfi, RfiOverview } from "./rfi.entity.js";
import { SubmitRfiInput, SubmitRfiPayload } from "./rfi.inputs.js";

@Resolver(() => Rfi)
export class RfiResolver {
  @Authorized(Role.INTAKE, Role.ADMIN)
  @Mutation(() => SubmitRfiPayload, {
    description: "INTAKE or ADMIN: a customer's request, fanned out as one referral per targeted partner.",
  })
  submitRfi(
    @Arg("input", () => SubmitRfiInput) input: SubmitRfiInput,
    @Ctx() { caller, services }: RequestContext,
  ): Promise<SubmitRfiPayload> {
    return services.rfis.submit(caller, input);
  }

  @FieldResolver(() => RfiOverview)
  overview(@Root() rfi: Rfi): RfiOverview {
    return overviewOf(rfi);
  }
}
