// The admin CLI: `npm run admin -- <command> [options]`, on the database of DATABASE_URL, through the
// same services (and so the same rules) as the GraphQL API. `npm run admin -- --help` lists the commands.
import "reflect-metadata";
import { parseArgs } from "node:util";
import type { ApiKey } from "../auth/api-key.entity.js";
import { IssueApiKeyInput } from "../auth/api-key.resolver.js";
import type { Caller } from "../graphql/caller.js";
import { Role } from "../graphql/role.js";
import type { Config } from "../config/config.js";
import { AppError } from "../graphql/errors.js";
import { CountryCodeScalar, EmailAddressScalar } from "../graphql/scalars.js";
import { Locale } from "../notifications/locale.js";
import { CreatePartnerInput, MarketingProfileInput } from "../partners/partner.inputs.js";
import { CompanySize } from "../rfis/company-size.js";
import { checked, expiry, id, list, oneOf, scalar } from "./options.js";
import { openTools, runTool, toolLogger, UsageError, type AdminTools } from "./tool.js";

/** Who the CLI acts as: an administrator at the database's console, with no key of its own. */
const CONSOLE: Caller = { keyId: "0", label: "admin CLI", role: Role.ADMIN, partnerId: null };

type Options = Record<string, string | boolean | undefined>;

interface OptionSpec {
  type: "string" | "boolean";
  /** How the option reads in --help. */
  value?: string;
  required?: boolean;
  help: string;
  /** The service's name for the field, to word its refusals with the option's name. */
  field?: string;
}

interface Command {
  summary: string;
  options: Record<string, OptionSpec>;
  /** Opens Redis too, to tell running servers at once (PUBSUB_URL). */
  bus?: boolean;
  run(tools: AdminTools, options: Options): Promise<void>;
}

const print = (line = "") => process.stdout.write(`${line}\n`);

/** An instant as the tables show it: UTC, to the second. */
function instant(date: Date | null | undefined): string {
  return date ? `${date.toISOString().slice(0, 19)}Z` : "-";
}

function keyTable(keys: ApiKey[], partnerNames: Map<string, string>): void {
  const rows = keys.map((key) => [
    key.id,
    key.role,
    key.partnerId === null ? "-" : `${key.partnerId} ${partnerNames.get(key.partnerId) ?? ""}`.trim(),
    key.label,
    instant(key.createdAt),
    instant(key.lastUsedAt),
    instant(key.expiresAt),
    instant(key.revokedAt),
  ]);
  const header = ["ID", "ROLE", "PARTNER", "LABEL", "CREATED", "LAST USED", "EXPIRES", "REVOKED"];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  for (const row of [header, ...rows])
    print(
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd(),
    );
}

function secretLines(secret: string): void {
  print("Its secret, shown once (only its hash is stored):");
  print(`  ${secret}`);
}

const COMMANDS: Record<string, Command> = {
  "create-partner": {
    summary: "a partner, and its first PARTNER key",
    options: { name: { type: "string", value: "NAME", required: true, help: "the partner's name, unique", field: "input.name" } },
    async run({ partners }, options) {
      const input = await checked(Object.assign(new CreatePartnerInput(), { name: options.name }), {});
      const { partner, apiKey } = await partners.create(input.name);
      print(`Created partner ${partner.id} "${partner.name}" with its first PARTNER key.`);
      secretLines(apiKey);
    },
  },
  "add-profile": {
    summary: "a marketing profile of a partner, so that RFIs of its region can reach it",
    options: {
      partner: { type: "string", value: "ID", required: true, help: "the partner's id" },
      region: { type: "string", value: "CC", required: true, help: "ISO country code, e.g. FR" },
      location: {
        type: "string",
        value: "TEXT",
        required: true,
        help: "the office, in words (one profile per region and location)",
        field: "input.location",
      },
      "contact-email": { type: "string", value: "EMAIL", required: true, help: "receives an alert for every new referral" },
      keywords: { type: "string", value: "A,B", help: "expertise keywords, separated by commas" },
      "company-sizes": { type: "string", value: "S,S", help: `preferred company sizes, e.g. SIZE_50_TO_249 (default: any)` },
      locale: { type: "string", value: "EN|FR", help: "the language of its e-mails (default EN)" },
    },
    async run({ partners }, options) {
      const partnerId = id("partner", options.partner as string);
      const input = await checked(
        Object.assign(new MarketingProfileInput(), {
          region: scalar<string>(CountryCodeScalar, "region", options.region as string),
          location: options.location,
          contactEmail: scalar<string>(EmailAddressScalar, "contact-email", options["contact-email"] as string),
          keywords: list(options.keywords as string | undefined),
          preferredCompanySizes: list(options["company-sizes"] as string | undefined).map((size) =>
            oneOf(CompanySize, "company-sizes", size),
          ),
          locale: options.locale === undefined ? null : oneOf(Locale, "locale", options.locale as string),
        }),
        { location: "location", keywords: "keywords" },
      );
      const profile = await partners.upsertProfile(CONSOLE, partnerId, null, input);
      print(
        `Added profile ${profile.id} of partner ${partnerId}: ${profile.region} / ${profile.location}, contact ${profile.contactEmail}, language ${profile.locale}.`,
      );
      print(`  keywords: ${profile.keywords.join(", ") || "-"}; company sizes: ${profile.preferredCompanySizes.join(", ") || "any"}`);
    },
  },
  "issue-key": {
    summary: "an API key; its secret is shown once",
    options: {
      role: { type: "string", value: "ROLE", required: true, help: `${Object.values(Role).join(", ")}` },
      label: {
        type: "string",
        value: "TEXT",
        required: true,
        help: "what the key is for (events record it as their actor)",
        field: "input.label",
      },
      partner: { type: "string", value: "ID", help: "the partner of a PARTNER key (required for them only)", field: "input.partnerId" },
      expires: {
        type: "string",
        value: "WHEN",
        help: "a duration from now (90d, 12h) or an instant (2027-01-31T00:00:00Z); default: never",
        field: "input.expiresAt",
      },
    },
    async run({ apiKeys }, options) {
      const input = await checked(
        Object.assign(new IssueApiKeyInput(), {
          role: oneOf(Role, "role", options.role as string),
          label: options.label,
          partnerId: options.partner === undefined ? null : id("partner", options.partner as string),
          expiresAt: options.expires === undefined ? null : expiry(options.expires as string),
        }),
        { label: "label" },
      );
      const { key, secret } = await apiKeys.issue(input);
      const partner = key.partnerId === null ? "" : ` of partner ${key.partnerId}`;
      print(
        `Issued key ${key.id}: ${key.role}${partner}, "${key.label}", ${key.expiresAt ? `expires ${instant(key.expiresAt)}` : "no expiry"}.`,
      );
      secretLines(secret);
    },
  },
  "revoke-key": {
    summary: "revokes a key: refused from its next request on (running servers forget it within seconds)",
    options: { id: { type: "string", value: "ID", required: true, help: "the key's id (see list-keys)" } },
    bus: true,
    async run({ apiKeys }, options) {
      const keyId = id("id", options.id as string);
      await apiKeys.revoke(keyId);
      print(`Revoked key ${keyId}.`);
    },
  },
  "list-keys": {
    summary: "the keys, newest first (secrets are never shown again)",
    options: { all: { type: "boolean", help: "revoked keys too" } },
    async run({ apiKeys, partners }, options) {
      const keys = await apiKeys.list(options.all === true);
      const names = new Map((await partners.list(null)).map((partner) => [partner.id, partner.name]));
      if (keys.length === 0) {
        print(options.all ? "No keys." : "No keys (revoked ones are shown with --all).");
        return;
      }
      keyTable(keys, names);
    },
  },
};

function optionUsage(name: string, spec: OptionSpec): string {
  const text = spec.type === "boolean" ? `--${name}` : `--${name} ${spec.value ?? "VALUE"}`;
  return spec.required ? text : `[${text}]`;
}

function commandUsage(name: string): string {
  const command = COMMANDS[name];
  const lines = [
    `npm run admin -- ${name} ${Object.entries(command.options)
      .map(([option, spec]) => optionUsage(option, spec))
      .join(" ")}`.trimEnd(),
    `  ${command.summary}.`,
  ];
  for (const [option, spec] of Object.entries(command.options)) lines.push(`    --${option.padEnd(14)} ${spec.help}`);
  return lines.join("\n");
}

const USAGE = [
  "Usage: npm run admin -- <command> [options]   (or: node dist/src/admin/cli.js <command> [options])",
  "",
  "Works on the database of DATABASE_URL directly (created and migrated if needed), through the same",
  "rules as the GraphQL API. Exit code 0 when done, 2 for bad input (one line on stderr), 1 otherwise.",
  "",
  ...Object.keys(COMMANDS).map(commandUsage),
  "",
  "npm run admin -- <command> --help   shows one command.",
].join("\n");

/** The service's field names (`input.partnerId: …`) as the options that carry them (`--partner: …`). */
function worded(error: unknown, command: Command): unknown {
  if (!(error instanceof AppError)) return error;
  for (const [option, spec] of Object.entries(command.options)) {
    if (spec.field && error.message.startsWith(`${spec.field}: `))
      return new UsageError(`--${option}: ${error.message.slice(spec.field.length + 2)}`);
  }
  return error;
}

async function main(argv: string[], config: () => Config): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    print(USAGE);
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(", ")} (see --help)`);
  let options: Options;
  try {
    const parsed = parseArgs({
      args: rest,
      options: {
        ...Object.fromEntries(Object.entries(command.options).map(([option, spec]) => [option, { type: spec.type }])),
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    options = parsed.values as Options;
  } catch (error) {
    throw new UsageError(
      `${name}: ${(error as Error).message.replace(/\. To specify a positional argument.*$/s, "")} (see ${name} --help)`,
    );
  }
  if (options.help) {
    print(commandUsage(name));
    return;
  }
  const missing = Object.entries(command.options).filter(
    ([option, spec]) => spec.required && (options[option] === undefined || options[option] === ""),
  );
  if (missing.length > 0) throw new UsageError(`${name} needs ${missing.map(([option]) => `--${option}`).join(", ")} (see ${name} --help)`);

  const tools = await openTools(config(), toolLogger(), { bus: command.bus });
  try {
    await command.run(tools, options);
  } catch (error) {
    throw worded(error, command);
  } finally {
    await tools.close();
  }
}

await runTool("admin", (config) => main(process.argv.slice(2), config));
