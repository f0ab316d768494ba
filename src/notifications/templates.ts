import { oneLine } from "../graphql/one-line.js";
import type { CompanySize } from "../rfis/company-size.js";
import { Locale } from "./locale.js";
import { en, fr, type Strings } from "./locales.js";
import { NotificationKind } from "./notification-kind.js";

// Declared and registered once, in their own modules: a second registration would put two types
// named Locale (or NotificationKind) in the schema, and TypeScript would hold them incompatible.
export { Locale, NotificationKind };

/** What a partner may see of a NEW referral: no customer identity, by construction. */
export interface ReferralOverview {
  need: string;
  companySize: CompanySize;
  industry: string | null;
  region: string;
  keywords: string[];
}

export interface Suggestion {
  partnerName: string;
  location: string;
  region: string;
  contactEmail: string;
}

/** The customer's e-mail carries neither the partner that passed nor why: the customer only needs to choose again. */
export type EmailContent =
  | { kind: NotificationKind.NEW_REFERRAL; overview: ReferralOverview; respondBy: Date; link: string }
  | { kind: NotificationKind.RESPONSE_REMINDER; overview: ReferralOverview; respondBy: Date; link: string }
  | { kind: NotificationKind.CHOOSE_ANOTHER_PARTNER; customerContactName: string; need: string; suggestions: Suggestion[] }
  | { kind: NotificationKind.WEBHOOK_DISABLED; url: string; reason: string; link: string };

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const STRINGS: Record<Locale, Strings> = { [Locale.EN]: en, [Locale.FR]: fr };

/** Long enough to recognise the request, short enough for a mail client's list view. */
const SUBJECT_NEED_CHARS = 60;
/** The customer recognises their request from its opening words; the full text is theirs already. */
const QUOTED_NEED_CHARS = 100;
const MAX_SUGGESTIONS = 3;
/** A partner's text in another partner's customer's e-mail: one line, no longer than the API accepts it. */
const PARTNER_TEXT_CHARS = 200;
const EMAIL_ADDRESS_CHARS = 254;

type Row = [label: string, value: string];

/** Both parts are rendered from the same blocks, so the text part never lacks what the HTML says. */
type Block =
  | { type: "p"; text: string }
  | { type: "rows"; rows: Row[] }
  | { type: "link"; label: string; href: string }
  | { type: "card"; title: string; rows: Row[] };

export function renderEmail(content: EmailContent, locale: Locale): RenderedEmail {
  const s = STRINGS[locale];
  const { subject, blocks } = compose(content, s);
  return { subject, text: toText(blocks, s), html: toHtml(subject, blocks, s) };
}

function compose(content: EmailContent, s: Strings): { subject: string; blocks: Block[] } {
  switch (content.kind) {
    case NotificationKind.NEW_REFERRAL:
      return {
        subject: s.newReferral.subject(excerpt(content.overview.need, SUBJECT_NEED_CHARS)),
        blocks: toProfileContact(content, s, s.newReferral.intro, s.newReferral.advice),
      };
    case NotificationKind.RESPONSE_REMINDER:
      return {
        subject: s.reminder.subject(excerpt(content.overview.need, SUBJECT_NEED_CHARS)),
        blocks: toProfileContact(content, s, s.reminder.intro),
      };
    case NotificationKind.CHOOSE_ANOTHER_PARTNER: {
      const t = s.chooseAnotherPartner;
      const suggestions = content.suggestions.slice(0, MAX_SUGGESTIONS);
      const blocks: Block[] = [
        { type: "p", text: s.helloName(content.customerContactName) },
        { type: "p", text: t.about(s.quote(excerpt(content.need, QUOTED_NEED_CHARS))) },
        { type: "p", text: t.willNotFollowUp },
      ];
      if (suggestions.length === 0) {
        blocks.push({ type: "p", text: t.noneAvailable });
      } else {
        blocks.push({ type: "p", text: t.suggestionsIntro });
        for (const suggestion of suggestions) {
          blocks.push({
            type: "card",
            title: oneLine(suggestion.partnerName, PARTNER_TEXT_CHARS),
            rows: [
              [s.labels.location, oneLine(suggestion.location, PARTNER_TEXT_CHARS)],
              [s.labels.region, regionName(suggestion.region, s)],
              [s.labels.contact, oneLine(suggestion.contactEmail, EMAIL_ADDRESS_CHARS)],
            ],
          });
        }
      }
      return { subject: t.subject, blocks };
    }
    case NotificationKind.WEBHOOK_DISABLED: {
      const t = s.webhookDisabled;
      const rows: Row[] = [[t.endpoint, content.url]];
      // No reason given: an empty line would read as missing data.
      if (content.reason.trim() !== "") rows.push([t.reason, content.reason]);
      const blocks: Block[] = [
        { type: "p", text: s.hello },
        { type: "p", text: t.intro },
        { type: "rows", rows },
        { type: "p", text: t.paused },
        { type: "p", text: t.catchUp },
        { type: "link", label: t.openDashboard, href: content.link },
        { type: "p", text: s.profileContactFooter },
      ];
      return { subject: t.subject, blocks };
    }
  }
}

function toProfileContact(
  content: { overview: ReferralOverview; respondBy: Date; link: string },
  s: Strings,
  intro: string,
  advice?: string,
): Block[] {
  const { overview } = content;
  const rows: Row[] = [
    [s.labels.need, overview.need],
    [s.labels.companySize, s.companySizes[overview.companySize]],
  ];
  if (overview.industry !== null) rows.push([s.labels.industry, overview.industry]);
  rows.push([s.labels.region, regionName(overview.region, s)]);
  // An empty line would read as missing data; no keywords simply means none were given.
  if (overview.keywords.length > 0) rows.push([s.labels.keywords, overview.keywords.join(", ")]);
  const deadline = [s.answerBy(formatDeadline(content.respondBy, s)), advice].filter(Boolean).join(" ");
  return [
    { type: "p", text: s.hello },
    { type: "p", text: intro },
    { type: "rows", rows },
    { type: "p", text: deadline },
    { type: "p", text: s.missedIfUnanswered },
    { type: "link", label: s.viewAndAnswer, href: content.link },
    { type: "p", text: s.profileContactFooter },
  ];
}

// Formatters are costly to build and hold no state: one per language.
const deadlineFormats = new Map<string, Intl.DateTimeFormat>();
const regionNames = new Map<string, Intl.DisplayNames>();

/** Deadlines are shown in UTC: the recipient's time zone is unknown, and the zone is named. */
function formatDeadline(date: Date, s: Strings): string {
  let format = deadlineFormats.get(s.intl);
  if (!format)
    deadlineFormats.set(s.intl, (format = new Intl.DateTimeFormat(s.intl, { timeZone: "UTC", dateStyle: "full", timeStyle: "short" })));
  return `${format.format(date)} UTC`;
}

/** "FR (France)": the code as stored, and its name in the recipient's language when Intl knows it. */
function regionName(code: string, s: Strings): string {
  let names = regionNames.get(s.intl);
  if (!names) regionNames.set(s.intl, (names = new Intl.DisplayNames(s.intl, { type: "region" })));
  const name = names.of(code);
  return name && name !== code ? `${code} (${name})` : code;
}

/** The start of a text on one line, cut at a word boundary; counts code points so no emoji is split. */
function excerpt(text: string, max: number): string {
  const chars = Array.from(text.replace(/\s+/g, " ").trim());
  if (chars.length <= max) return chars.join("");
  const cut = chars.slice(0, max).join("");
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function toText(blocks: Block[], s: Strings): string {
  const rows = (list: Row[], indent: string) =>
    list.map(([label, value]) => `${indent}${label}${s.colon} ${value.split(/\r?\n/).join(`\n${indent}  `)}`).join("\n");
  const parts = blocks.map((block) => {
    switch (block.type) {
      case "p":
        return block.text;
      case "rows":
        return rows(block.rows, "");
      case "link":
        return `${block.label}${s.colon}\n${block.href}`;
      case "card":
        return `- ${block.title}\n${rows(block.rows, "  ")}`;
    }
  });
  return `${parts.join("\n\n")}\n`;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

// Inline styles only: many mail clients drop <style> elements and block external resources.
const P_STYLE = "margin:0 0 16px";
const TABLE_STYLE = "border-collapse:collapse;margin:0 0 16px";
const TH_STYLE = "text-align:left;vertical-align:top;padding:4px 16px 4px 0;white-space:nowrap";
// A long value without spaces (a webhook's URL) wraps rather than widening the e-mail.
const TD_STYLE = "vertical-align:top;padding:4px 0;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word";
const BUTTON_STYLE =
  "display:inline-block;padding:10px 18px;background:#1f4fa3;color:#ffffff;border-radius:4px;text-decoration:none;font-weight:bold";
const CARD_STYLE = "margin:0 0 12px;padding:12px 16px;border:1px solid #d8dce3;border-radius:4px";

function toHtml(subject: string, blocks: Block[], s: Strings): string {
  const row = ([label, value]: Row) =>
    `<tr><th style="${TH_STYLE}">${escapeHtml(label)}</th><td style="${TD_STYLE}">${escapeHtml(value)}</td></tr>`;
  const table = (rows: Row[], style: string) => `<table role="presentation" style="${style}">${rows.map(row).join("")}</table>`;
  const body = blocks.map((block) => {
    switch (block.type) {
      case "p":
        return `<p style="${P_STYLE}">${escapeHtml(block.text)}</p>`;
      case "rows":
        return table(block.rows, TABLE_STYLE);
      case "link":
        return `<p style="margin:24px 0"><a href="${escapeHtml(block.href)}" style="${BUTTON_STYLE}">${escapeHtml(block.label)}</a></p>`;
      case "card":
        return (
          `<div style="${CARD_STYLE}"><p style="margin:0 0 4px;font-weight:bold">${escapeHtml(block.title)}</p>` +
          `${table(block.rows, "border-collapse:collapse")}</div>`
        );
    }
  });
  return [
    "<!DOCTYPE html>",
    `<html lang="${s.lang}">`,
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1d2129">',
    `<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;border-radius:6px">`,
    ...body,
    "</div>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
