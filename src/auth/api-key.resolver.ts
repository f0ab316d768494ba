import { MaxLength } from "class-validator";
import { Arg, Authorized, Ctx, Field, FieldResolver, ID, InputType, Mutation, ObjectType, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../graphql/context.js";
import { listCost } from "../graphql/limits.js";
import { DateTimeScalar } from "../graphql/scalars.js";
import { NotBlank } from "../graphql/validation.js";
import { Partner } from "../partners/index.js";
import { MAX_NAME_LENGTH } from "../partners/index.js";
import { ApiKey } from "./api-key.entity.js";
import { Role } from "../graphql/role.js";
import { partnerById } from "../partners/index.js";
import { ApiKeyService } from "./api-key.service.js";

/** What the cost limit assumes of the list of keys. */
const TYPICAL_KEYS = 50;

@ObjectType({ simpleResolvers: true, description: "Who the calling key is." })
export class Viewer {
  @Field(() => Role)
  role: Role;

  @Field(() => String, { description: "The key's label, which events record as their actor." })
  label: string;

  partnerId: string | null;
}

@InputType()
export class IssueApiKeyInput {
  @Field(() => Role)
  role: Role;

  @Field(() => ID, { nullable: true, description: "Required for PARTNER keys." })
  partnerId?: string | null;

  @Field(() => String)
  @NotBlank()
  @MaxLength(MAX_NAME_LENGTH)
  label: string;

  @Field(() => DateTimeScalar, { nullable: true, description: "Optional expiry, in the future." })
  expiresAt?: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class IssuedApiKey {
  @Field(() => ID)
  id: string;

  @Field(() => Role)
  role: Role;

  @Field(() => String)
  label: string;

  @Field(() => String, { description: "Shown once; only its hash is stored." })
  secret: string;

  @Field(() => DateTimeScalar, { nullable: true, description: "After this instant the key is refused; null: no expiry." })
  expiresAt: Date | null;
}

@Resolver(() => Viewer)
export class ApiKeyResolver {
  constructor(private readonly apiKeyService: ApiKeyService) {}

  @Query(() => Viewer)
  me(@Ctx() { caller }: RequestContext): Viewer {
    return { role: caller.role, label: caller.label, partnerId: caller.partnerId };
  }

  @FieldResolver(() => Partner, { nullable: true, description: "The partner organisation of a PARTNER key; null for other roles." })
  async partner(@Root() viewer: Viewer, @Ctx() { loaders }: RequestContext): Promise<Partner | null> {
    return viewer.partnerId === null ? null : ((await loaders.of(partnerById).load(viewer.partnerId)) ?? null);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => IssuedApiKey, { description: "ADMIN." })
  async issueApiKey(@Arg("input", () => IssueApiKeyInput) input: IssueApiKeyInput): Promise<IssuedApiKey> {
    const { key, secret } = await this.apiKeyService.issue(input);
    return { id: key.id, role: key.role, label: key.label, secret, expiresAt: key.expiresAt };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: "ADMIN. Takes effect on the key's next request; true once the key is revoked." })
  revokeApiKey(@Arg("id", () => ID) id: string): Promise<boolean> {
    return this.apiKeyService.revoke(id);
  }
}

@Resolver(() => ApiKey)
export class ApiKeyListResolver {
  constructor(private readonly apiKeyService: ApiKeyService) {}

  @Authorized(Role.ADMIN)
  @Query(() => [ApiKey], {
    complexity: listCost(() => TYPICAL_KEYS),
    description: "ADMIN: every key (secrets are never shown again), newest first; revoked ones only when asked.",
  })
  apiKeys(@Arg("includeRevoked", () => Boolean, { nullable: true }) includeRevoked: boolean | null): Promise<ApiKey[]> {
    return this.apiKeyService.list(includeRevoked === true);
  }

  @FieldResolver(() => Partner, { nullable: true, description: "The partner of a PARTNER key." })
  async partner(@Root() key: ApiKey, @Ctx() { loaders }: RequestContext): Promise<Partner | null> {
    return key.partnerId === null ? null : ((await loaders.of(partnerById).load(key.partnerId)) ?? null);
  }
}
