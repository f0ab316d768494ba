import { gzipSync } from "node:zlib";
import { expect } from "chai";
import type { Page, WebSocketRoute } from "playwright-core";
import { screenshot, useBrowser, usePage } from "../support/browser.js";
import { createPartner, daysFromToday, issueKey, submitRfi, type TestPartner, uniqueName } from "../support/fixtures.js";
import { startTestServer, useTestServer } from "../support/harness.js";
import { eventually } from "../support/wait.js";

// One server and one browser for the file; a fresh tab (and session storage) per test.
describe("web", function () {
  this.timeout(60_000);
  const browser = useBrowser();
  const server = useTestServer();
  const origin = () => `http://localhost:${server.current.port}`;

  async function signIn(tab: Page, key: string, path = "/"): Promise<void> {
    await tab.goto(`${origin()}${path}`);
    await tab.getByLabel("API key").fill(key);
    await tab.getByRole("button", { name: "Sign in" }).click();
  }

  /** A partner with its key, signed in on the page, its New tab shown. */
  async function partnerSignedIn(tab: Page): Promise<TestPartner> {
    const partner = await createPartner(server.current);
    await signIn(tab, partner.api.key!);
    await tab.getByRole("tab", { name: /^New \(\d+\)$/ }).waitFor();
    await tab.getByText("Live", { exact: true }).waitFor();
    return partner;
  }

  async function referralFor(partner: TestPartner, need = uniqueName("Need")): Promise<{ id: string; need: string }> {
    const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [partner.id], need });
    return { id: referralIds[0], need };
  }

  const article = (tab: Page, need: string) => tab.getByRole("article").filter({ hasText: need });

  /** A signed-in partner's referral, interest expressed through the API, its card shown in Evaluating. */
  async function evaluating(tab: Page) {
    const partner = await partnerSignedIn(tab);
    const { id, need } = await referralFor(partner);
    await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
    await tab.getByRole("tab", { name: "Evaluating (1)" }).click();
    return { partner, id, need, card: article(tab, need) };
  }

  async function statusOf(id: string): Promise<{ status: string; version: number }> {
    const { referral } = await server.current.admin.data(`query($id: ID!) { referral(id: $id) { status version } }`, { id });
    return referral;
  }

  /** Passes the page's live feed through until `hold()`; `release()` delivers what was held and passes again. */
  async function liveFeedToHold(tab: Page) {
    const held: string[] = [];
    let holding = false;
    let toPage: WebSocketRoute | undefined;
    await tab.routeWebSocket(/\/graphql$/, (ws) => {
      toPage = ws;
      const toServer = ws.connectToServer();
      toServer.onMessage((message) => (holding ? held.push(String(message)) : ws.send(message)));
      ws.onMessage((message) => toServer.send(message));
    });
    return {
      hold: () => {
        holding = true;
      },
      release: () => {
        holding = false;
        for (const message of held.splice(0)) toPage!.send(message);
      },
    };
  }

  describe("partner dashboard", () => {
    const page = usePage(browser);

    it("shows the sign-in page at /, from this origin only", async () => {
      const origins = new Set<string>();
      const scripts: Promise<Buffer>[] = [];
      page.current.on("request", (request) => origins.add(new URL(request.url()).origin));
      page.current.on("response", (response) => {
        if (response.request().resourceType() === "script") scripts.push(response.body());
      });
      const response = await page.current.goto(`${origin()}/`);
      expect(response?.headers()["content-security-policy"]).to.contain("default-src 'self'");
      await page.current.getByLabel("API key").waitFor();
      await page.current.getByRole("button", { name: "Sign in" }).waitFor();
      expect([...origins]).to.deep.equal([origin()]);
      // The first load's JavaScript, gzipped: at most 150 KB.
      const gzipped = (await Promise.all(scripts)).reduce((total, body) => total + gzipSync(body).length, 0);
      expect(gzipped).to.be.within(1, 150 * 1024);
      await screenshot(page.current, "sign-in");
    });

    it("refuses a bad key, says why and shows no tabs", async () => {
      await signIn(page.current, "prk_not-a-key");
      await page.current.getByRole("alert").filter({ hasText: "This key was refused" }).waitFor();
      expect(await page.current.getByRole("tab").count()).to.equal(0);
      expect(await page.current.evaluate("sessionStorage.length")).to.equal(0);
    });

    it("keeps the key for the tab's session and forgets it on Sign out", async () => {
      await partnerSignedIn(page.current);
      await page.current.reload();
      await page.current.getByRole("tab", { name: /^New/ }).waitFor();
      await page.current.getByRole("button", { name: "Sign out" }).click();
      await page.current.getByLabel("API key").waitFor();
      expect(await page.current.evaluate("sessionStorage.length")).to.equal(0);
      await page.current.reload();
      await page.current.getByLabel("API key").waitFor();
    });

    it("keeps the key through a server it cannot reach, and signs in again once it answers", async () => {
      await partnerSignedIn(page.current);
      await page.current.route("**/graphql", (route) => route.abort());
      await page.current.reload();
      await page.current.getByRole("alert").filter({ hasText: "could not be reached" }).waitFor();
      expect(await page.current.evaluate("sessionStorage.length")).to.equal(1);
      await page.current.unroute("**/graphql");
      await page.current.reload();
      await page.current.getByRole("tab", { name: /^New/ }).waitFor();
    });

    it("says why a tab could not load, in the page's language, and loads it on Try again", async () => {
      await partnerSignedIn(page.current);
      await page.current.route("**/graphql", (route) => route.abort());
      await page.current.getByRole("tab", { name: /^Evaluating/ }).click();
      const alert = page.current.getByRole("alert").filter({ hasText: "Could not load the referrals" });
      await alert.filter({ hasText: "The server could not be reached" }).waitFor();
      await page.current.getByLabel("Language").selectOption("fr");
      await page.current
        .getByRole("alert")
        .filter({ hasText: "Impossible de charger les références : Le serveur est injoignable" })
        .waitFor();
      await page.current.unroute("**/graphql");
      await page.current.getByRole("button", { name: "Réessayer" }).click();
      await page.current.getByText("Aucune référence ici.").waitFor();
    });

    it("shows a referral submitted through the API in New without a reload, and says so", async () => {
      const partner = await partnerSignedIn(page.current);
      await page.current.evaluate("window.sameDocument = true");
      const { need } = await referralFor(partner);
      await article(page.current, need).waitFor({ timeout: 5000 });
      await page.current.getByRole("tab", { name: "New (1)" }).waitFor();
      expect(await page.current.getByRole("status").filter({ hasText: "New referral" }).textContent()).to.contain(need);
      expect(await page.current.evaluate("window.sameDocument")).to.equal(true);
      const card = article(page.current, need);
      for (const fact of ["50–249 employees", "Manufacturing", "FR", "cloud", "left"]) expect(await card.textContent()).to.contain(fact);
      expect(await card.getByRole("button").allTextContents()).to.deep.equal(["I'm interested", "No thanks", "CRM reference"]);
      await screenshot(page.current, "partner-new");
    });

    it("I'm interested moves it to Evaluating and shows the customer", async () => {
      const partner = await partnerSignedIn(page.current);
      const { id, need } = await referralFor(partner);
      await article(page.current, need).getByRole("button", { name: "I'm interested" }).click();
      await article(page.current, need).getByText("ann@fabrikam.example").waitFor();
      expect(await article(page.current, need).getByRole("status").textContent()).to.equal(
        "Done: I'm interested. The referral is now Evaluating.",
      );
      // The button pressed is gone: the keyboard stays in the referral.
      expect(await page.current.evaluate("document.activeElement.getAttribute('aria-labelledby')")).to.equal(`referral-${id}`);
      await page.current.getByRole("tab", { name: "Evaluating (1)" }).click();
      const card = article(page.current, need);
      await card.getByRole("region", { name: "Customer" }).getByText("Fabrikam", { exact: true }).waitFor();
      expect(await card.getByRole("button").allTextContents()).to.deep.equal(["Accept", "Decline", "CRM reference"]);
      expect(await statusOf(id)).to.include({ status: "EVALUATING" });
      await screenshot(page.current, "partner-evaluating");
    });

    it("Accept with a value, a currency and a close date moves it to Negotiating", async () => {
      const { partner, id, need, card } = await evaluating(page.current);
      await card.getByRole("button", { name: "Accept" }).click();
      await card.getByLabel("Deal value").fill("1234.50");
      await card.getByLabel("Currency").selectOption("USD");
      await card.getByLabel("Close date").fill(daysFromToday(30));
      await card.getByRole("button", { name: "Confirm" }).click();
      await page.current.getByRole("tab", { name: "Negotiating (1)" }).click();
      await article(page.current, need).getByText("$1,234.50").waitFor();
      const { referral } = await partner.api.data(
        `query($id: ID!) { referral(id: $id) { status estimatedDealValue { amount currency } estimatedCloseDate } }`,
        {
          id,
        },
      );
      expect(referral).to.deep.equal({
        status: "NEGOTIATING",
        estimatedDealValue: { amount: "1234.50", currency: "USD" },
        estimatedCloseDate: daysFromToday(30),
      });
      expect(await article(page.current, need).getByRole("button").allTextContents()).to.deep.equal([
        "Update estimate",
        "Won",
        "Lost",
        "CRM reference",
      ]);
    });

    it("Won, with the estimate's figures as they stand, archives it as won", async () => {
      const partner = await partnerSignedIn(page.current);
      const { id, need } = await referralFor(partner);
      await partner.api.data(
        `mutation($id: ID!, $input: AcceptReferralInput!) { expressInterest(id: $id) { id } acceptReferral(id: $id, input: $input) { id } }`,
        { id, input: { estimatedDealValue: "8000.00", currency: "EUR", estimatedCloseDate: daysFromToday(10) } },
      );
      await page.current.getByRole("tab", { name: "Negotiating (1)" }).click();
      const card = article(page.current, need);
      await card.getByRole("button", { name: "Won" }).click();
      expect(await card.getByLabel("Final deal value").inputValue()).to.equal("8000.00");
      await card.getByRole("button", { name: "Confirm" }).click();
      await page.current.getByRole("tab", { name: "Archived (1)" }).click();
      await article(page.current, need).getByText("Deal: €8,000.00").waitFor();
      expect(await statusOf(id)).to.include({ status: "WON" });
    });

    it("shows the server's refusal next to the referral and changes nothing", async () => {
      const { id, card } = await evaluating(page.current);
      await card.getByRole("button", { name: "Accept" }).click();
      await card.getByLabel("Deal value").fill("1000");
      await card.getByLabel("Close date").fill("2020-01-31");
      await card.getByRole("button", { name: "Confirm" }).click();
      await card
        .getByRole("alert")
        .filter({ hasText: /today or later|past/i })
        .waitFor();
      expect(await statusOf(id)).to.deep.equal({ status: "EVALUATING", version: 2 });
    });

    it("on a stale version, reloads the referral and says it changed", async () => {
      const feed = await liveFeedToHold(page.current);
      const partner = await partnerSignedIn(page.current);
      const { id, need } = await referralFor(partner);
      await article(page.current, need).waitFor();
      feed.hold();
      await partner.api.data(`mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "CRM-42") { id } }`, { id });
      await article(page.current, need).getByRole("button", { name: "I'm interested" }).click();
      const notice = article(page.current, need).getByRole("status");
      await notice.filter({ hasText: "changed" }).waitFor();
      await article(page.current, need).getByText("CRM-42", { exact: true }).waitFor();
      expect(await statusOf(id)).to.deep.equal({ status: "NEW", version: 2 });
      await screenshot(page.current, "partner-stale");
      // Acting again, on the version now shown, goes through.
      feed.release();
      await article(page.current, need).getByRole("button", { name: "I'm interested" }).click();
      await article(page.current, need).getByText("ann@fabrikam.example").waitFor();
      expect(await statusOf(id)).to.include({ status: "EVALUATING" });
    });

    it("when the referral moved on meanwhile, reloads it in its new status and says it changed", async () => {
      const feed = await liveFeedToHold(page.current);
      const partner = await partnerSignedIn(page.current);
      const { id, need } = await referralFor(partner);
      const card = article(page.current, need);
      await card.waitFor();
      feed.hold();
      await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id });
      // The page still offers what NEW allows; the server refuses it as INVALID_TRANSITION.
      await card.getByRole("button", { name: "I'm interested" }).click();
      await card.getByRole("status").filter({ hasText: "changed meanwhile" }).filter({ hasText: "(Ignored)" }).waitFor();
      expect(await card.getByRole("button", { name: "I'm interested" }).count()).to.equal(0);
      expect(await card.getByRole("alert").count()).to.equal(0);
      expect(await statusOf(id)).to.deep.equal({ status: "IGNORED", version: 2 });
      feed.release();
    });

    it("No thanks sends the optional reason; Archived filters by status and shows the timeline", async () => {
      const partner = await partnerSignedIn(page.current);
      const ignored = await referralFor(partner);
      const declined = await referralFor(partner);
      await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } declineReferral(id: $id) { id } }`, { id: declined.id });
      const card = article(page.current, ignored.need);
      await card.getByRole("button", { name: "No thanks" }).click();
      await card.getByLabel("Reason (optional)").fill("Outside our focus");
      await card.getByRole("button", { name: "Confirm" }).click();
      await page.current.getByRole("tab", { name: "Archived (2)" }).click();
      await article(page.current, declined.need).waitFor();
      await page.current.getByLabel("Status").selectOption({ label: "Ignored" });
      await article(page.current, declined.need).waitFor({ state: "detached" });
      const archived = article(page.current, ignored.need);
      await archived.getByText("Reason: Outside our focus").waitFor();
      const timeline = await archived.getByRole("region", { name: "Timeline" }).getByRole("listitem").allTextContents();
      expect(timeline).to.have.length(2);
      expect(timeline[0]).to.contain("Received");
      expect(timeline[1]).to.contain("Passed (no thanks)").and.to.contain("Outside our focus");
      expect(await archived.getByRole("button").count()).to.equal(0);
    });

    it("records a CRM reference without a change of state, and clears it", async () => {
      const partner = await partnerSignedIn(page.current);
      const { id, need } = await referralFor(partner);
      const card = article(page.current, need);
      const reference = async (value: string) => {
        await card.getByRole("button", { name: "CRM reference" }).click();
        await card.getByLabel("CRM reference (empty to clear)").fill(value);
        await card.getByRole("button", { name: "Confirm" }).click();
      };
      await reference("  SF-0042 ");
      await card.getByRole("definition").filter({ hasText: "SF-0042" }).waitFor();
      const read = `query($id: ID!) { referral(id: $id) { status externalReferenceId } }`;
      expect((await partner.api.data(read, { id })).referral).to.deep.equal({ status: "NEW", externalReferenceId: "SF-0042" });
      expect(await card.getByLabel("CRM reference (empty to clear)").count(), "the form closes").to.equal(0);
      await reference("");
      await card.getByRole("status").filter({ hasText: "Done: CRM reference" }).waitFor();
      await eventually(
        "the reference is cleared",
        async () => (await partner.api.data(read, { id })).referral.externalReferenceId === null,
      );
    });

    it("opens /referrals/<id>, the e-mails' link, after sign-in", async () => {
      const partner = await createPartner(server.current);
      const { id, need } = await referralFor(partner);
      await signIn(page.current, partner.api.key!, `/referrals/${id}`);
      await article(page.current, need)
        .getByRole("heading", { name: `Referral #${id}` })
        .waitFor();
      expect(await page.current.getByRole("article").count()).to.equal(1);
      expect(new URL(page.current.url()).pathname).to.equal(`/referrals/${id}`);
      await screenshot(page.current, "referral-link");
    });

    it("does not show another partner's referral at its link", async () => {
      const [owner, other] = [await createPartner(server.current), await createPartner(server.current)];
      const { id, need } = await referralFor(owner);
      await signIn(page.current, other.api.key!, `/referrals/${id}`);
      await page.current.getByText(`Referral #${id} does not exist, or is not one of yours.`).waitFor();
      expect(await page.current.getByText(need).count()).to.equal(0);
    });

    it("counts down to respondBy every second, in red under 24 hours", async () => {
      const partner = await partnerSignedIn(page.current);
      const soon = await referralFor(partner);
      const later = await referralFor(partner);
      await server.current.db.query("UPDATE referrals SET respond_by = NOW() + INTERVAL 30 MINUTE WHERE id = ?", [soon.id]);
      await page.current.reload();
      const countdown = (need: string) => article(page.current, need).locator(".countdown");
      await countdown(soon.need)
        .filter({ hasText: /2\d min \d\d s left/ })
        .waitFor();
      const before = await countdown(soon.need).textContent();
      await eventually("the countdown ticks", async () => (await countdown(soon.need).textContent()) !== before, 5000);
      const color = (need: string) => countdown(need).evaluate((node) => (globalThis as any).getComputedStyle(node).color);
      expect(await color(soon.need)).to.equal("rgb(185, 28, 28)");
      expect(await countdown(later.need).textContent()).to.match(/2 d \d\d h \d\d min left/);
      expect(await color(later.need)).not.to.equal("rgb(185, 28, 28)");
    });

    it("catches up after its live connection dropped", async () => {
      let dropping = false;
      const routes: WebSocketRoute[] = [];
      await page.current.routeWebSocket(/\/graphql$/, (ws) => {
        routes.push(ws);
        const toServer = ws.connectToServer();
        toServer.onMessage((message) => {
          if (!dropping) ws.send(message);
        });
        ws.onMessage((message) => toServer.send(message));
      });
      const partner = await partnerSignedIn(page.current);
      dropping = true;
      const missed = await referralFor(partner);
      // As the server closes a feed it cannot resume (4500): graphql-ws gives up on it, the page starts over.
      await routes[0].close({ code: 4500, reason: "dropped by the test" });
      dropping = false;
      await article(page.current, missed.need).waitFor({ timeout: 15_000 });
      expect(routes.length).to.be.at.least(2);
      await page.current.getByRole("tab", { name: "New (1)" }).waitFor();
    });

    it("signs the page out when its key is revoked", async () => {
      const partner = await createPartner(server.current);
      const { apiKeys } = await server.current.admin.data(`{ apiKeys { id partner { id } } }`);
      const key = apiKeys.find((k: { partner: { id: string } | null }) => k.partner?.id === partner.id);
      await signIn(page.current, partner.api.key!);
      await page.current.getByText("Live", { exact: true }).waitFor();
      await server.current.admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: key.id });
      await page.current.getByRole("alert").filter({ hasText: "You were signed out" }).waitFor();
      await page.current.getByLabel("API key").waitFor();
      expect(await page.current.evaluate("sessionStorage.length")).to.equal(0);
    });

    it("shows where the keyboard focus is", async () => {
      await partnerSignedIn(page.current);
      await page.current.keyboard.press("Tab");
      const outline = await page.current.evaluate("getComputedStyle(document.activeElement).outlineStyle");
      expect(outline).to.equal("solid");
    });

    it("moves between tabs with the arrow keys", async () => {
      await partnerSignedIn(page.current);
      await page.current.getByRole("tab", { name: /^New/ }).focus();
      await page.current.keyboard.press("ArrowRight");
      const selected = page.current.getByRole("tab", { selected: true });
      expect(await selected.textContent()).to.match(/^Evaluating/);
      expect(await page.current.evaluate("document.activeElement?.textContent")).to.match(/^Evaluating/);
      await page.current.keyboard.press("End");
      expect(await selected.textContent()).to.match(/^Archived/);
    });
  });

  describe("analyst view", () => {
    const page = usePage(browser);
    /** Months back from this one (UTC), as YYYY-MM. */
    const month = (back: number) => {
      const now = new Date();
      return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1)).toISOString().slice(0, 7);
    };

    /** An accepted referral in `region`, received in the month `back` months ago, worth `value` in `currency`. */
    async function deal(partner: TestPartner, region: string, back: number, value: string, currency = "EUR"): Promise<void> {
      const { referralIds } = await submitRfi(server.current.admin, { partnerIds: [partner.id], region });
      const [id] = referralIds;
      await partner.api.data(
        `mutation($id: ID!, $input: AcceptReferralInput!) { expressInterest(id: $id) { id } acceptReferral(id: $id, input: $input) { id } }`,
        { id, input: { estimatedDealValue: value, currency, estimatedCloseDate: daysFromToday(40) } },
      );
      // Arrivals in earlier months, which the API cannot backdate.
      await server.current.db.query("UPDATE referrals SET received_at = ? WHERE id = ?", [new Date(`${month(back)}-01T12:00:00Z`), id]);
    }

    const points = (series: string) => page.current.locator(`svg circle[data-series="${series}"]`).count();
    const rows = (caption: string) => page.current.getByRole("table", { name: caption }).locator("tbody tr").count();

    it("charts median and p90 deal sizes and median days to close per month, with the same numbers in tables", async () => {
      const belgian = await createPartner(server.current, uniqueName("Belgian partner"), { region: "BE" });
      const luxembourgish = await createPartner(server.current, uniqueName("Luxembourg partner"), { region: "LU" });
      // Five months with deals, and a month without any between them (4 months back).
      for (const back of [5, 3, 2, 1, 0]) {
        await deal(belgian, "BE", back, "1000.00");
        await deal(belgian, "BE", back, `${3000 + back * 1000}.00`);
      }
      await deal(belgian, "BE", 1, "999.00", "USD");
      await deal(luxembourgish, "LU", 5, "5000.00");
      const analyst = await issueKey(server.current, "ANALYST");

      await signIn(page.current, analyst.key!);
      await page.current.getByRole("heading", { name: "Deal sizes" }).waitFor();
      // The regions where partners have a profile are offered, each once.
      const suggested = page.current.locator("#stats-regions option");
      await eventually("the region suggestions", async () => (await suggested.count()) > 0);
      const regions = await suggested.evaluateAll((options) => options.map((option) => (option as unknown as { value: string }).value));
      expect(regions).to.include.members(["BE", "LU"]);
      expect(regions).to.deep.equal([...new Set(regions)].sort());
      await page.current.getByLabel("Region").fill("BE");
      await page.current.getByRole("button", { name: "Show" }).click();
      await page.current.getByRole("table", { name: "Deal sizes per month, EUR" }).waitFor();
      await page.current.getByLabel("Currency").waitFor();
      expect(await points("median")).to.equal(5);
      expect(await points("p90")).to.equal(5);
      expect(await points("median-days")).to.equal(5);
      expect(await rows("Deal sizes per month, EUR")).to.equal(5);
      expect(await rows("Days to close per month")).to.equal(5);
      // The month without deals keeps its place on the axis: each line breaks there.
      expect(await page.current.locator(".series-median path").getAttribute("d")).to.match(/^M[^M]+M[^M]+$/);
      // Five months back: 1000 and 8000, so the nearest-rank median is 1000 and the p90 8000.
      const oldest = await page.current
        .getByRole("table", { name: "Deal sizes per month, EUR" })
        .locator("tbody tr")
        .first()
        .allInnerTexts();
      expect(oldest[0].split("\t").slice(1)).to.deep.equal(["2", "1000.00", "8000.00"]);
      await screenshot(page.current, "analyst");

      await page.current.getByLabel("Currency").selectOption("USD");
      await page.current.getByRole("table", { name: "Deal sizes per month, USD" }).waitFor();
      expect(await points("median")).to.equal(1);

      await page.current.getByLabel("Region").fill("LU");
      await page.current.getByLabel("From").fill(month(6));
      await page.current.getByRole("button", { name: "Show" }).click();
      await page.current.getByRole("table", { name: "Deal sizes per month, EUR" }).waitFor();
      await page.current.getByLabel("Currency").waitFor({ state: "detached" });
      expect(await points("median")).to.equal(1);
      expect(await points("median-days")).to.equal(1);
    });

    it("shows an analyst no partner actions at a referral's link", async () => {
      const partner = await createPartner(server.current);
      const { id, need } = await referralFor(partner);
      const analyst = await issueKey(server.current, "ANALYST");
      await signIn(page.current, analyst.key!, `/referrals/${id}`);
      await article(page.current, need).waitFor();
      expect(await article(page.current, need).getByRole("button").count()).to.equal(0);
    });
  });

  describe("in French", () => {
    const page = usePage(browser, { locale: "fr-FR" });

    it("speaks French to a French browser, in the original text's words, and English once asked", async () => {
      const partner = await createPartner(server.current);
      const { need } = await referralFor(partner);
      await page.current.goto(`${origin()}/`);
      await page.current.getByLabel("Clé d'API").fill(partner.api.key!);
      await page.current.getByRole("button", { name: "Se connecter" }).click();
      const card = article(page.current, need);
      await card.getByRole("button", { name: "Je suis intéressé" }).waitFor();
      expect(await card.getByRole("button").allTextContents()).to.deep.equal(["Je suis intéressé", "Non, merci", "Référence CRM"]);
      expect(await card.locator(".countdown").textContent()).to.match(/^Répondre avant le .*: 2 j \d\d h \d\d min restants$/);
      await card.getByRole("button", { name: "Je suis intéressé" }).click();
      await card.getByRole("status").filter({ hasText: "Fait : Je suis intéressé. La référence est désormais Évaluation." }).waitFor();
      await page.current.getByRole("tab", { name: "Évaluation (1)" }).click();
      await article(page.current, need).getByRole("button", { name: "Accepter" }).waitFor();
      await screenshot(page.current, "partner-fr");
      await page.current.getByLabel("Langue").selectOption("en");
      await page.current.getByRole("tab", { name: "Evaluating (1)" }).waitFor();
      await page.current.reload();
      await page.current.getByRole("tab", { name: "New (0)" }).waitFor();
    });

    it("words the server's refusals in French: a key over its rate limit", async () => {
      const limited = await startTestServer({ RATE_LIMIT: "3" });
      try {
        const partner = await createPartner(limited);
        for (let i = 0; i < 3; i++) await partner.api.data("{ me { role } }");
        await page.current.goto(`http://localhost:${limited.port}/`);
        await page.current.getByLabel("Clé d'API").fill(partner.api.key!);
        await page.current.getByRole("button", { name: "Se connecter" }).click();
        await page.current.getByText(/^Trop de requêtes avec cette clé\. Réessayez dans \d+ s\.$/).waitFor();
        expect(await page.current.getByRole("tab").count()).to.equal(0);
      } finally {
        await limited.stop();
      }
    });
  });

  describe("small screens", () => {
    const page = usePage(browser, { width: 375 });
    const fitsWidth = async () => expect(await page.current.evaluate("document.documentElement.scrollWidth")).to.be.at.most(375);

    it("shows the partner view at 375 px without horizontal scrolling", async () => {
      const partner = await createPartner(server.current);
      const { id } = await referralFor(partner, `${"Unbreakable".repeat(12)} ${"a long need ".repeat(20)}`);
      await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { id } }`, { id });
      await signIn(page.current, partner.api.key!);
      await page.current.getByRole("tab", { name: "Evaluating (1)" }).click();
      await page.current.getByRole("article").getByRole("button", { name: "Accept" }).click();
      await page.current.getByLabel("Close date").waitFor();
      await fitsWidth();
      await screenshot(page.current, "partner-375px");
    });

    it("shows the analyst view at 375 px without horizontal scrolling", async () => {
      const analyst = await issueKey(server.current, "ANALYST");
      await signIn(page.current, analyst.key!);
      await page.current.getByRole("heading", { name: "Deal sizes" }).waitFor();
      await fitsWidth();
      await screenshot(page.current, "analyst-375px");
    });
  });
});
