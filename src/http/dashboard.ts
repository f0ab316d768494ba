import { fileURLToPath } from "node:url";
import compression from "compression";
import express, { type Response, Router } from "express";

/** Where `npm run build` puts the dashboard (web/, built by Vite), beside the compiled server. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

/** The pages the app answers itself: the referral lists, and the referral links sent in e-mails. */
const PAGES = ["/", "/referrals/:id"];

/**
 * The page may load and talk to this origin only (its own scripts, /graphql over HTTP and WebSocket):
 * no CDN, no inline script, no framing.
 */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

function secure(res: Response): void {
  res.set(SECURITY_HEADERS);
}

/**
 * Serves the dashboard at `/` from its static build. Hashed assets are cached for a year; the page
 * itself is revalidated every time so that a new build is picked up at once.
 */
export function dashboard(dir = DASHBOARD_DIR): Router {
  const router = Router();
  const index = `${dir}index.html`;
  // Only the dashboard's own files: GraphQL answers are small and stay uncompressed, off this path.
  const compress = compression();
  router.use("/assets", compress);
  router.get(PAGES, compress, (_req, res) => {
    secure(res);
    res.set("Cache-Control", "no-cache").sendFile(index, (error) => {
      // No build (a server compiled with tsc alone): say how to make one, rather than a bare 404.
      if (error && !res.headersSent) res.status(503).type("text/plain").send("The dashboard is not built: run `npm run build`.\n");
    });
  });
  router.use(
    express.static(dir, {
      index: false,
      setHeaders: (res, path) => {
        secure(res);
        res.setHeader("Cache-Control", path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
      },
    }),
  );
  return router;
}
