// The demo's partners and customers' requests (`npm run demo`, demo.ts).
import { Locale } from "../notifications/locale.js";
import type { MarketingProfileInput } from "../partners/partner.inputs.js";
import { CompanySize } from "../rfis/company-size.js";
import type { SubmitRfiInput } from "../rfis/rfi.inputs.js";

export interface DemoPartner {
  name: string;
  profiles: Omit<MarketingProfileInput, "active">[];
}

export const PARTNERS: DemoPartner[] = [
  {
    name: "Contoso Cloud",
    profiles: [
      {
        region: "FR",
        location: "Paris",
        contactEmail: "referrals@contoso.example",
        locale: Locale.FR,
        keywords: ["cloud", "erp", "migration"],
        preferredCompanySizes: [CompanySize.SIZE_50_TO_249, CompanySize.SIZE_250_TO_999],
      },
      {
        region: "DE",
        location: "Berlin",
        contactEmail: "berlin@contoso.example",
        locale: Locale.EN,
        keywords: ["cloud", "security"],
        preferredCompanySizes: [],
      },
    ],
  },
  {
    name: "Fabrikam Consulting",
    profiles: [
      {
        region: "FR",
        location: "Lyon",
        contactEmail: "leads@fabrikam.example",
        locale: Locale.FR,
        keywords: ["erp", "crm", "manufacturing"],
        preferredCompanySizes: [CompanySize.SIZE_10_TO_49, CompanySize.SIZE_50_TO_249],
      },
    ],
  },
  {
    name: "Northwind Systems",
    profiles: [
      {
        region: "DE",
        location: "Munich",
        contactEmail: "sales@northwind.example",
        locale: Locale.EN,
        keywords: ["security", "network", "cloud", "data"],
        preferredCompanySizes: [CompanySize.SIZE_1000_TO_4999, CompanySize.SIZE_5000_PLUS],
      },
      {
        region: "FR",
        location: "Bordeaux",
        contactEmail: "bordeaux@northwind.example",
        locale: Locale.FR,
        keywords: ["data", "crm"],
        preferredCompanySizes: [],
      },
    ],
  },
];

/** A customer's RFI, as the marketplace submits it. */
export function rfi(
  key: string,
  region: string,
  need: string,
  company: string,
  size: CompanySize,
  keywords: string[],
  partnerIds?: string[],
): SubmitRfiInput {
  const domain = `${company.toLowerCase().replace(/[^a-z]+/g, "")}.example`;
  return {
    idempotencyKey: `demo-${key}`,
    customer: { companyName: company, contactName: "Alex Martin", email: `alex.martin@${domain}`, phone: "+33 1 23 45 67 89" },
    need,
    companySize: size,
    industry: "Manufacturing",
    region,
    keywords,
    partnerIds: partnerIds ?? null,
    maxPartners: 2,
    locale: region === "FR" ? Locale.FR : Locale.EN,
  } as SubmitRfiInput;
}

/** An ISO date `days` from today (UTC). */
export function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
