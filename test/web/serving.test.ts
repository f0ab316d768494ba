import type { AddressInfo } from "node:net";
import { expect } from "chai";
import express from "express";
import { dashboard } from "../../src/http/dashboard.js";

describe("web > serving the dashboard", () => {
  it("answers 503 with how to build it when there is no build, with the same security headers", async () => {
    const app = express();
    app.use(dashboard("/nonexistent-dashboard-build/"));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/referrals/12`);
      expect(response.status).to.equal(503);
      expect(response.headers.get("content-security-policy")).to.contain("default-src 'self'");
      expect(await response.text()).to.equal("The dashboard is not built: run `npm run build`.\n");
    } finally {
      server.close();
    }
  });
});
