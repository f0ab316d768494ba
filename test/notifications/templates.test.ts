import { expect } from "chai";
import { CompanySize } from "../../src/rfis/company-size.js";
import {
  Locale,
  NotificationKind,
  renderEmail,
  type EmailContent,
  type ReferralOverview,
  type Suggestion,
} from "../../src/notifications/templates.js";

const RESPOND_BY = new Date("2026-11-30T14:05:00Z");
const LINK = "https://partners.example.com/referrals/42?tab=answer&from=email";
const NEED = "We are looking for a partner to migrate our ERP to the cloud and train our finance team on the new tools.";

function overview(changes: Partial<ReferralOverview> = {}): ReferralOverview {
  return {
    need: NEED,
    companySize: CompanySize.SIZE_50_TO_249,
    industry: "Retail",
    region: "FR",
    keywords: ["erp", "cloud migration"],
    ...changes,
  };
}

function newReferral(changes: Partial<ReferralOverview> = {}): EmailContent {
  return { kind: NotificationKind.NEW_REFERRAL, overview: overview(changes), respondBy: RESPOND_BY, link: LINK };
}

function reminder(): EmailContent {
  return { kind: NotificationKind.RESPONSE_REMINDER, overview: overview(), respondBy: RESPOND_BY, link: LINK };
}

function suggestion(n: number): Suggestion {
  return { partnerName: `Partner Nº${n}`, location: `City ${n}`, region: "FR", contactEmail: `contact${n}@partner${n}.example` };
}

function chooseAnother(suggestions: Suggestion[], changes: Partial<{ customerContactName: string; need: string }> = {}): EmailContent {
  return {
    kind: NotificationKind.CHOOSE_ANOTHER_PARTNER,
    customerContactName: "Marie Dupont",
    need: NEED,
    suggestions,
    ...changes,
  };
}

const ESCAPED_LINK = LINK.replace(/&/g, "&amp;");

const ENDPOINT_URL = "https://hooks.acme.example/referrals";
const DISABLED_REASON = "No successful delivery for 72 hours (last answer: HTTP 503).";
const DASHBOARD = "https://partners.example.com/";

function webhookDisabled(changes: Partial<{ url: string; reason: string }> = {}): EmailContent {
  return { kind: NotificationKind.WEBHOOK_DISABLED, url: ENDPOINT_URL, reason: DISABLED_REASON, link: DASHBOARD, ...changes };
}

describe("notifications > e-mail templates", () => {
  describe("NEW_REFERRAL", () => {
    it("tells the profile's contact in English about the new referral, its overview, the UTC deadline and the link", () => {
      const email = renderEmail(newReferral(), Locale.EN);

      expect(email.subject).to.match(/^New referral: We are looking for a partner/);
      for (const part of [email.text, email.html]) {
        expect(part).to.include("Monday, 30 November 2026 at 14:05 UTC");
        expect(part).to.include("50 to 249 employees");
        expect(part).to.include("Retail");
        expect(part).to.include("FR (France)");
        expect(part).to.include("erp, cloud migration");
        expect(part).to.include("within 24 hours");
        expect(part).to.include("archived as Missed");
      }
      expect(email.text).to.include(NEED);
      expect(email.text).to.include(LINK);
      expect(email.html).to.include(`<a href="${ESCAPED_LINK}"`);
    });

    it("writes the same e-mail in French, with the deadline in French and the archived state named Manquée", () => {
      const email = renderEmail(newReferral(), Locale.FR);

      expect(email.subject).to.match(/^Nouvelle recommandation : We are looking for a partner/);
      for (const part of [email.text, email.html]) {
        expect(part).to.include("lundi 30 novembre 2026 à 14:05 UTC");
        expect(part).to.include("50 à 249 salariés");
        expect(part).to.include("FR (France)");
        expect(part).to.include("sous 24 heures");
        expect(part).to.include("Manquée");
      }
      expect(email.text).to.include("Besoin : ");
      expect(email.text).to.include(LINK);
      expect(email.html).to.include('<html lang="fr">');
      expect(email.html).to.include(`<a href="${ESCAPED_LINK}"`);
    });

    it("names the region's country in the recipient's language", () => {
      expect(renderEmail(newReferral({ region: "DE" }), Locale.EN).text).to.include("DE (Germany)");
      expect(renderEmail(newReferral({ region: "DE" }), Locale.FR).text).to.include("DE (Allemagne)");
    });

    it("puts only the need's start in the subject, cut at a word, and the full need in the body", () => {
      const email = renderEmail(newReferral(), Locale.EN);
      const excerpt = email.subject.slice("New referral: ".length);

      expect(excerpt).to.match(/…$/);
      expect(excerpt.length).to.be.at.most(61);
      expect(NEED.startsWith(excerpt.slice(0, -1))).to.equal(true);
      expect(NEED.charAt(excerpt.length - 1)).to.equal(" ");
      expect(email.text).to.include(NEED);
    });

    it("keeps a multi-line need on one subject line", () => {
      const email = renderEmail(newReferral({ need: "ERP migration\r\nand training" }), Locale.EN);

      expect(email.subject).to.equal("New referral: ERP migration and training");
    });

    it("leaves out the industry line when the industry is unknown", () => {
      const en = renderEmail(newReferral({ industry: null }), Locale.EN);
      const fr = renderEmail(newReferral({ industry: null }), Locale.FR);

      expect(en.text).not.to.include("Industry");
      expect(en.html).not.to.include("Industry");
      expect(fr.text).not.to.include("Secteur");
      expect(fr.html).not.to.include("Secteur");
      expect(en.text).to.include("Company size: 50 to 249 employees");
    });

    it("writes every company size in words, with each language's digit grouping", () => {
      expect(renderEmail(newReferral({ companySize: CompanySize.SIZE_5000_PLUS }), Locale.EN).text).to.include("5,000 or more employees");
      expect(renderEmail(newReferral({ companySize: CompanySize.SIZE_1000_TO_4999 }), Locale.FR).text).to.include("1 000 à 4 999 salariés");
    });

    it("escapes the need in the HTML but keeps it verbatim in the text part", () => {
      const need = `<script>alert("x")</script> R&D for O'Brien`;
      const email = renderEmail(newReferral({ need }), Locale.EN);

      expect(email.html).not.to.include("<script>");
      expect(email.html).to.include("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; R&amp;D for O&#39;Brien");
      expect(email.html).not.to.match(/&(?!amp;|lt;|gt;|quot;|#39;)/);
      expect(email.text).to.include(need);
      expect(email.subject).to.include("<script>");
    });

    it("is a self-contained HTML document with inline styles only", () => {
      const { html } = renderEmail(newReferral(), Locale.EN);

      expect(html).to.match(/^<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">/);
      expect(html).to.match(/<\/html>\n$/);
      for (const external of ["<img", "<link", "<style", "<script", "src=", "url("]) expect(html).not.to.include(external);
      expect(html.match(/https?:\/\/[^"<\s]+/g)).to.deep.equal([ESCAPED_LINK]);
    });
  });

  describe("RESPONSE_REMINDER", () => {
    it("reminds the profile's contact in English that the referral awaits an answer before the UTC deadline", () => {
      const email = renderEmail(reminder(), Locale.EN);

      expect(email.subject).to.match(/^Reminder: a referral awaits your answer – We are looking for/);
      for (const part of [email.text, email.html]) {
        expect(part).to.include("still waiting for your answer");
        expect(part).to.include("Monday, 30 November 2026 at 14:05 UTC");
        expect(part).to.include("50 to 249 employees");
        expect(part).to.include("archived as Missed");
      }
      expect(email.text).to.include(LINK);
      expect(email.html).to.include(`<a href="${ESCAPED_LINK}"`);
    });

    it("reminds in French with the deadline in French", () => {
      const email = renderEmail(reminder(), Locale.FR);

      expect(email.subject).to.match(/^Rappel : une recommandation attend votre réponse – We are looking for/);
      for (const part of [email.text, email.html]) {
        expect(part).to.include("attend toujours votre réponse");
        expect(part).to.include("lundi 30 novembre 2026 à 14:05 UTC");
        expect(part).to.include("Manquée");
      }
      expect(email.text).to.include(LINK);
      expect(email.html).to.include(`<a href="${ESCAPED_LINK}"`);
    });
  });

  describe("CHOOSE_ANOTHER_PARTNER", () => {
    it("greets the customer in English, quotes the request and asks them to choose another partner", () => {
      const email = renderEmail(chooseAnother([suggestion(1)]), Locale.EN);

      expect(email.subject).to.equal("Choose another partner for your request");
      for (const part of [email.text, email.html]) {
        expect(part).to.include("Hello Marie Dupont,");
        expect(part).to.include("will not follow up");
        expect(part).to.include("choose another partner");
      }
      expect(email.text).to.include("“We are looking for a partner to migrate our ERP to the cloud and train our finance team on the new");
      expect(email.text).not.to.include(NEED);
    });

    it("writes the same e-mail in French", () => {
      const email = renderEmail(chooseAnother([suggestion(1)]), Locale.FR);

      expect(email.subject).to.equal("Choisissez un autre partenaire pour votre demande");
      for (const part of [email.text, email.html]) {
        expect(part).to.include("Bonjour Marie Dupont,");
        expect(part).to.include("choisir un autre partenaire");
      }
      expect(email.text).to.include("n'y donnera pas suite");
      expect(email.html).to.include("n&#39;y donnera pas suite");
      expect(email.text).to.include("« We are looking for");
      expect(email.html).to.include('<html lang="fr">');
    });

    it("lists three suggestions with name, location, region and contact e-mail", () => {
      const suggestions = [suggestion(1), suggestion(2), suggestion(3)];
      const email = renderEmail(chooseAnother(suggestions), Locale.EN);

      for (const s of suggestions) {
        for (const part of [email.text, email.html]) {
          expect(part).to.include(s.partnerName);
          expect(part).to.include(s.location);
          expect(part).to.include(s.contactEmail);
        }
      }
      expect(email.text).to.include("Region: FR (France)");
      expect(email.text).not.to.include("No other partner is available");
    });

    it("shows a partner's name, location and contact on one line each, cut to 200 characters, whatever was stored", () => {
      const forged = {
        partnerName: "Contoso\r\nURGENT: your request was cancelled",
        location: `Paris\n\nCall +33 1 23 45 67 89 to confirm your bank details\u2028${"x".repeat(300)}`,
        region: "FR",
        contactEmail: "sales@contoso.example\n",
      };
      const email = renderEmail(chooseAnother([forged]), Locale.EN);
      expect(email.text).to.include("- Contoso URGENT: your request was cancelled\n");
      const location = email.text.split("\n").find((line) => line.includes("Location:"))!;
      expect(location).to.match(/^ {2}Location: Paris Call \+33 1 23 45 67 89 to confirm your bank details x+…$/);
      expect(Array.from(location.slice("  Location: ".length))).to.have.length(200);
      expect(email.text).to.include("  Contact: sales@contoso.example\n");
      expect(email.text).not.to.match(/\r|\u2028/);
      expect(email.html).to.include(">Contoso URGENT: your request was cancelled<");
      expect(email.html).not.to.match(/Paris\n/);
    });

    it("lists at most three suggestions", () => {
      const email = renderEmail(chooseAnother([1, 2, 3, 4].map(suggestion)), Locale.EN);

      expect(email.text).to.include("Partner Nº3");
      expect(email.text).not.to.include("Partner Nº4");
      expect(email.html).not.to.include("Partner Nº4");
    });

    it("says no other partner is available and invites a new request later when there is no suggestion", () => {
      const en = renderEmail(chooseAnother([]), Locale.EN);
      const fr = renderEmail(chooseAnother([]), Locale.FR);

      for (const part of [en.text, en.html]) {
        expect(part).to.include("No other partner is available in your region right now");
        expect(part).to.include("submit a new request later");
      }
      expect(fr.text).to.include("Aucun autre partenaire n'est disponible dans votre région pour le moment");
      expect(fr.html).to.include("Aucun autre partenaire n&#39;est disponible dans votre région pour le moment");
      for (const part of [fr.text, fr.html]) expect(part).to.include("soumettre une nouvelle demande plus tard");
      expect(en.text).not.to.include("Here are partners");
    });

    it("names only the suggested partners and gives no reason why the first one passed", () => {
      const suggestions = [suggestion(1), suggestion(2)];
      for (const locale of [Locale.EN, Locale.FR]) {
        const { subject, text, html } = renderEmail(chooseAnother(suggestions), locale);
        const all = `${subject}\n${text}\n${html}`;

        expect(all.match(/Partner Nº\d/g)).to.have.members(["Partner Nº1", "Partner Nº2", "Partner Nº1", "Partner Nº2"]);
        for (const reason of ["declin", "refus", "ignor", "missed", "manqu", "expir", "because", "parce que", "reason", "raison"]) {
          expect(all.toLowerCase()).not.to.include(reason);
        }
      }
    });

    it("escapes the customer's name and need in the HTML", () => {
      const email = renderEmail(
        chooseAnother([{ ...suggestion(1), partnerName: "Smith & <Sons>" }], { customerContactName: `Jo "<b>"`, need: "<i>R&D</i>" }),
        Locale.EN,
      );

      expect(email.html).to.include("Hello Jo &quot;&lt;b&gt;&quot;,");
      expect(email.html).to.include("&lt;i&gt;R&amp;D&lt;/i&gt;");
      expect(email.html).to.include("Smith &amp; &lt;Sons&gt;");
      expect(email.html).not.to.match(/<(b|i|Sons)>/);
    });
  });

  describe("WEBHOOK_DISABLED", () => {
    it("tells the profile contacts in English which endpoint was disabled, why, how to enable it and catch up, with the link", () => {
      const email = renderEmail(webhookDisabled(), Locale.EN);

      expect(email.subject).to.equal("Your webhook endpoint was disabled");
      for (const part of [email.text, email.html]) {
        expect(part).to.include(ENDPOINT_URL);
        expect(part).to.include(DISABLED_REASON);
        expect(part).to.include("failed for too long");
        expect(part).to.include("setWebhookEndpointEnabled");
        expect(part).to.include("referralChanges");
      }
      expect(email.text).to.include(`Endpoint: ${ENDPOINT_URL}`);
      expect(email.text).to.include(`Reason: ${DISABLED_REASON}`);
      expect(email.text).to.include(DASHBOARD);
      expect(email.html).to.include(`<a href="${DASHBOARD}"`);
    });

    it("writes the same e-mail in French", () => {
      const email = renderEmail(webhookDisabled(), Locale.FR);

      expect(email.subject).to.equal("Votre point de terminaison webhook a été désactivé");
      for (const part of [email.text, email.html]) {
        expect(part).to.include(ENDPOINT_URL);
        expect(part).to.include(DISABLED_REASON);
        expect(part).to.include("setWebhookEndpointEnabled");
        expect(part).to.include("referralChanges");
      }
      expect(email.text).to.include(`Point de terminaison : ${ENDPOINT_URL}`);
      expect(email.text).to.include(`Motif : ${DISABLED_REASON}`);
      expect(email.text).to.include(DASHBOARD);
      expect(email.html).to.include('<html lang="fr">');
      expect(email.html).to.include(`<a href="${DASHBOARD}"`);
    });

    it("leaves out the reason line when no reason was given", () => {
      const email = renderEmail(webhookDisabled({ reason: "" }), Locale.EN);

      expect(email.text).not.to.include("Reason");
      expect(email.html).not.to.include("Reason");
      expect(email.text).to.include(`Endpoint: ${ENDPOINT_URL}`);
    });

    it("escapes the URL and the reason in the HTML but keeps them verbatim in the text part", () => {
      const url = `https://hooks.example/in?a=1&b=<script>"x"</script>`;
      const reason = "HTTP 500: <html>R&D</html>";
      const email = renderEmail(webhookDisabled({ url, reason }), Locale.EN);

      expect(email.html).not.to.include("<script>");
      expect(email.html).not.to.include("<html>R");
      expect(email.html).to.include("https://hooks.example/in?a=1&amp;b=&lt;script&gt;&quot;x&quot;&lt;/script&gt;");
      expect(email.html).to.include("HTTP 500: &lt;html&gt;R&amp;D&lt;/html&gt;");
      expect(email.html).not.to.match(/&(?!amp;|lt;|gt;|quot;|#39;)/);
      expect(email.text).to.include(url);
      expect(email.text).to.include(reason);
    });
  });
});
