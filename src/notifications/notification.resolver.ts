import { Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import { Role } from "../graphql/role.js";
import type { RequestContext } from "../graphql/context.js";
import { pagedListCost } from "../graphql/paging.js";
import { DeliveryStatus } from "../outbox/index.js";
import { Referral } from "../referrals/index.js";
import { Notification, NotificationConnection } from "./notification.types.js";
import { referralById } from "../referrals/index.js";
import { NotificationService } from "./notification.service.js";

@ArgsType()
class NotificationsArgs {
  @Field(() => ID, { nullable: true })
  referralId?: string | null;

  @Field(() => DeliveryStatus, { nullable: true })
  status?: DeliveryStatus | null;

  @Field(() => Int, { nullable: true, description: "Page size: 20 by default, at most 100." })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The endCursor of the previous page." })
  after?: string | null;
}

@Resolver(() => Notification)
export class NotificationResolver {
  constructor(private readonly notificationService: NotificationService) {}

  @Authorized(Role.ADMIN)
  @Query(() => NotificationConnection, {
    description: "ADMIN: the e-mails the server sent or is trying to send, newest first.",
    complexity: pagedListCost,
  })
  notifications(@Args(() => NotificationsArgs) args: NotificationsArgs): Promise<NotificationConnection> {
    return this.notificationService.page(args);
  }

  @FieldResolver(() => Referral)
  referral(@Root() notification: Notification, @Ctx() { loaders }: RequestContext) {
    return loaders.of(referralById).get(notification.referralId);
  }
}
