import { expect } from "chai";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { AppError } from "../../src/graphql/errors.js";
import { assertPublicTarget, checkWebhookUrl, isPublicAddress, publicOnlyLookup } from "../../src/webhooks/safe-url.js";

/** The error checkWebhookUrl throws for `raw`, checked to be BAD_USER_INPUT on input.url. */
async function refusal(raw: string, allowPrivate = false): Promise<AppError> {
  let accepted: string;
  try {
    accepted = await checkWebhookUrl(raw, allowPrivate);
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    const error = err as AppError;
    expect(error.extensions.code).to.equal("BAD_USER_INPUT");
    expect(error.extensions.field).to.equal("input.url");
    expect(error.message).to.match(/^input\.url: /);
    return error;
  }
  return expect.fail(`accepted ${raw} as ${accepted}`);
}

/** publicOnlyLookup in the all: true shape, as a promise. */
function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    publicOnlyLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
}

/** publicOnlyLookup in the all: false shape, as a promise. */
function lookupOne(host: string): Promise<{ address: string; family: number }> {
  return new Promise((resolve, reject) =>
    publicOnlyLookup(host, { all: false }, (err, address, family) => (err ? reject(err) : resolve({ address, family }))),
  );
}

/** Calls `start` with a node-style callback and settles with what it reports. */
function settled(start: (callback: (err: NodeJS.ErrnoException | null) => void) => void): Promise<null> {
  return new Promise((resolve, reject) => start((err) => (err ? reject(err) : resolve(null))));
}

async function rejectionOf(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  return expect.fail("expected a rejection");
}

describe("webhooks > safe URLs", () => {
  describe("isPublicAddress", () => {
    it("accepts public IPv4 and IPv6 addresses", () => {
      for (const address of ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8"]) {
        expect(isPublicAddress(address), address).to.equal(true);
      }
    });

    it("refuses loopback, private, link-local, metadata, CGNAT, unspecified and multicast addresses", () => {
      const refused = [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "192.0.2.1",
        "::",
        "::1",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "fe80::1%eth0",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
      ];
      for (const address of refused) expect(isPublicAddress(address), address).to.equal(false);
    });

    it("refuses IPv6 transition addresses that carry a private IPv4 address", () => {
      expect(isPublicAddress("2002:7f00:1::1"), "6to4 of 127.0.0.1").to.equal(false);
      expect(isPublicAddress("2002:a9fe:a9fe::1"), "6to4 of 169.254.169.254").to.equal(false);
      expect(isPublicAddress("2002:808:808::1"), "6to4 of 8.8.8.8").to.equal(true);
      // Teredo client 10.0.0.1 is stored inverted: ~0x0a00 = 0xf5ff, ~0x0001 = 0xfffe.
      expect(isPublicAddress("2001:0:4136:e378:8000:63bf:f5ff:fffe"), "teredo client 10.0.0.1").to.equal(false);
      expect(isPublicAddress("64:ff9b::a00:1"), "NAT64 of 10.0.0.1").to.equal(false);
      expect(isPublicAddress("64:ff9b::808:808"), "NAT64 of 8.8.8.8").to.equal(true);
      expect(isPublicAddress("::7f00:1"), "IPv4-compatible ::127.0.0.1").to.equal(false);
    });

    it("refuses text that is not a plain IP address", () => {
      for (const text of ["", "example.com", "127.1", "0x7f.0.0.1", "2130706433", "[::1]", "1.2.3.4.5"]) {
        expect(isPublicAddress(text), text).to.equal(false);
      }
    });
  });

  describe("checkWebhookUrl", () => {
    it("accepts https URLs to public IP literals and returns them normalised", async () => {
      expect(await checkWebhookUrl("HTTPS://93.184.216.34:443/hook?x=1", false)).to.equal("https://93.184.216.34/hook?x=1");
      expect(await checkWebhookUrl("https://[2606:4700:4700::1111]/x", false)).to.equal("https://[2606:4700:4700::1111]/x");
    });

    it("refuses plain http in strict mode", async () => {
      expect((await refusal("http://example.com/hook")).message).to.equal("input.url: must use https");
    });

    it("refuses what is not an absolute URL", async () => {
      await refusal("not a url");
      await refusal("/relative/hook");
      await refusal("");
    });

    it("refuses other schemes even when private targets are allowed", async () => {
      await refusal("ftp://example.com/", true);
      await refusal("file:///etc/passwd", true);
      await refusal("javascript:alert(1)", true);
    });

    it("refuses URLs longer than 2048 characters", async () => {
      const error = await refusal(`https://93.184.216.34/${"a".repeat(2048)}`);
      expect(error.message).to.match(/2048/);
    });

    it("refuses credentials without echoing them", async () => {
      for (const raw of ["https://user:pw-s3cret@example.com/", "https://token-s3cret@example.com/"]) {
        const error = await refusal(raw);
        expect(error.message).to.equal("input.url: must not contain credentials");
        expect(error.message).not.to.include("s3cret");
      }
      await refusal("http://user:pw-s3cret@127.0.0.1/", true);
    });

    it("refuses private and reserved IP literals, however they are written", async () => {
      for (const raw of [
        "https://127.0.0.1/x",
        "https://[::1]/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
        "https://0x7f.1/",
        "https://2130706433/",
        "https://017700000001/",
        "https://100.64.0.1/",
      ]) {
        expect((await refusal(raw)).message, raw).to.match(/private or reserved address/);
      }
    });

    it("refuses localhost and internal host names", async () => {
      for (const raw of [
        "https://localhost/",
        "https://LOCALHOST:8443/",
        "https://localhost./",
        "https://api.localhost/",
        "https://metadata.google.internal/",
        "https://printer.local/",
      ]) {
        expect((await refusal(raw)).message, raw).to.equal("input.url: must not point to an internal host");
      }
    });

    it("refuses a host name that resolves to a non-public address", async function () {
      // This machine's own name normally resolves to loopback through /etc/hosts (no internet needed).
      const name = hostname();
      const addresses = await lookup(name, { all: true }).catch(() => []);
      if (addresses.length === 0 || addresses.every((a) => isPublicAddress(a.address))) this.skip();
      await refusal(`https://${name}/hook`);
    });

    it("refuses a host name that does not resolve", async () => {
      const error = await refusal("https://no-such-host.invalid/hook");
      expect(error.message).to.match(/^input\.url: host no-such-host\.invalid (does not resolve|did not resolve in time)$/);
    });

    it("refuses ports below 1024 other than 80 and 443 in strict mode, and allows them when private targets are", async () => {
      for (const raw of ["https://93.184.216.34:22/hook", "https://93.184.216.34:25/", "https://[2606:4700:4700::1111]:1023/"]) {
        expect((await refusal(raw)).message, raw).to.equal("input.url: must not use a port below 1024 other than 80 and 443");
      }
      expect(await checkWebhookUrl("https://93.184.216.34:80/hook", false)).to.equal("https://93.184.216.34:80/hook");
      expect(await checkWebhookUrl("https://93.184.216.34:1024/hook", false)).to.equal("https://93.184.216.34:1024/hook");
      expect(await checkWebhookUrl("http://127.0.0.1:22/hook", true)).to.equal("http://127.0.0.1:22/hook");
    });

    it("accepts private http targets when allowed", async () => {
      expect(await checkWebhookUrl("http://127.0.0.1:8080/hook", true)).to.equal("http://127.0.0.1:8080/hook");
      expect(await checkWebhookUrl("https://localhost/hook", true)).to.equal("https://localhost/hook");
    });
  });

  describe("publicOnlyLookup", () => {
    it("refuses localhost in the all: true shape", async () => {
      const error = await rejectionOf(lookupAll("localhost"));
      expect(error.code).to.equal("EPUBLICONLY");
    });

    it("refuses localhost in the all: false shape", async () => {
      const error = await rejectionOf(lookupOne("localhost"));
      expect(error.code).to.equal("EPUBLICONLY");
    });

    it("refuses localhost in the (hostname, family, callback) and (hostname, callback) shapes", async () => {
      const viaFamily = await rejectionOf(settled((callback) => publicOnlyLookup("localhost", 4, callback)));
      expect(viaFamily.code).to.equal("EPUBLICONLY");
      const bare = await rejectionOf(settled((callback) => publicOnlyLookup("localhost", callback)));
      expect(bare.code).to.equal("EPUBLICONLY");
    });

    it("resolves public addresses like dns.lookup, in both shapes", async () => {
      expect(await lookupAll("93.184.216.34")).to.deep.equal([{ address: "93.184.216.34", family: 4 }]);
      expect(await lookupOne("2606:4700:4700::1111")).to.deep.equal({ address: "2606:4700:4700::1111", family: 6 });
    });

    it("passes DNS failures through unchanged", async () => {
      const error = await rejectionOf(lookupAll("no-such-host.invalid"));
      expect(error.code).not.to.equal("EPUBLICONLY");
      const expected = await rejectionOf(settled((callback) => dnsLookup("no-such-host.invalid", { all: true }, callback)));
      expect(error.code).to.equal(expected.code);
    });

    describe("used by node:http", () => {
      let server: Server;
      let hits = 0;
      before(async () => {
        server = createServer((_req, res) => {
          hits += 1;
          res.end("reached");
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      });
      after(() => new Promise<void>((resolve) => server.close(() => resolve())));

      it("stops a request to a name that resolves to loopback before it connects", async () => {
        const { port } = server.address() as AddressInfo;
        const error = await rejectionOf(
          new Promise((resolve, reject) => {
            const req = request({ host: "localhost", port, path: "/hook", lookup: publicOnlyLookup, agent: false }, resolve);
            req.on("error", reject);
            req.end();
          }),
        );
        expect(error.code).to.equal("EPUBLICONLY");
        expect(hits).to.equal(0);
      });
    });
  });

  describe("assertPublicTarget", () => {
    it("refuses non-public IP literals", () => {
      for (const host of ["127.0.0.1", "[::1]", "[fd00:ec2::254]", "169.254.169.254", "[::ffff:127.0.0.1]"]) {
        expect(() => assertPublicTarget(new URL(`https://${host}/hook`)), host)
          .to.throw()
          .with.property("code", "EPUBLICONLY");
      }
    });

    it("refuses ports below 1024 other than 80 and 443, whatever the host", () => {
      for (const url of ["https://93.184.216.34:22/", "http://example.com:25/", "https://example.com:6/"]) {
        expect(() => assertPublicTarget(new URL(url)), url)
          .to.throw()
          .with.property("code", "EPUBLICONLY");
      }
    });

    it("lets public literals and names through, on web ports and ports from 1024", () => {
      for (const url of [
        "https://93.184.216.34/",
        "https://[2606:4700:4700::1111]:8443/",
        "http://example.com:80/",
        "https://example.com:443/",
        "https://localhost:1024/",
      ]) {
        expect(() => assertPublicTarget(new URL(url)), url).not.to.throw();
      }
    });
  });
});
