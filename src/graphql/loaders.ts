import DataLoader from "dataloader";
import { In, type DataSource } from "typeorm";
import { responsivenessOf } from "../analytics/responsiveness.js";
import type { Responsiveness } from "../analytics/stats.types.js";
import { MarketingProfile } from "../partners/marketing-profile.entity.js";
import { Partner } from "../partners/partner.entity.js";
import { ReferralEvent } from "../referrals/referral.entity.js";
import { Rfi } from "../rfis/rfi.entity.js";

/** Per-request batching: a page of referrals costs one query per related table, whatever its size. */
export interface Loaders {
  partner: DataLoader<string, Partner | undefined>;
  profile: DataLoader<string, MarketingProfile | undefined>;
  profilesOfPartner: DataLoader<string, MarketingProfile[]>;
  rfi: DataLoader<string, Rfi | undefined>;
  eventsOfReferral: DataLoader<string, ReferralEvent[]>;
  responsiveness: DataLoader<string, Responsiveness>;
}

type WithId = { id: string };

function byId<T extends WithId>(rows: T[], ids: readonly string[]): (T | undefined)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id));
}

function groupBy<T>(rows: T[], ids: readonly string[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return ids.map((id) => groups.get(id)!);
}

export function createLoaders(db: DataSource): Loaders {
  const entityLoader = <T extends WithId>(entity: new () => T) =>
    new DataLoader<string, T | undefined>(async (ids) =>
      byId(await db.getRepository(entity).findBy({ id: In([...ids]) } as never), ids),
    );
  return {
    partner: entityLoader(Partner),
    profile: entityLoader(MarketingProfile),
    rfi: entityLoader(Rfi),
    profilesOfPartner: new DataLoader(async (partnerIds) => {
      const profiles = await db
        .getRepository(MarketingProfile)
        .find({ where: { partnerId: In([...partnerIds]) }, order: { id: "ASC" } });
      return groupBy(profiles, partnerIds, (profile) => profile.partnerId);
    }),
    eventsOfReferral: new DataLoader(async (referralIds) => {
      const events = await db
        .getRepository(ReferralEvent)
        .find({ where: { referralId: In([...referralIds]) }, order: { id: "ASC" } });
      return groupBy(events, referralIds, (event) => event.referralId);
    }),
    responsiveness: new DataLoader(async (partnerIds) => {
      const found = await responsivenessOf(db, partnerIds);
      return partnerIds.map((id) => found.get(id)!);
    }),
  };
}
