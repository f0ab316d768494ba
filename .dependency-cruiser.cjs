/**
 * The house's layering, checked in CI (`npm run deps`). Three floors:
 *
 *   src/app/            the composition root: builds the services, the resolvers, the schema and the
 *                       server. Only the entry points (main.ts, the admin tool) import it.
 *   src/<feature>/      referrals, rfis, partners, live, webhooks, outbox, config, …: behaviour that
 *                       changes together. A feature imports the ground floor and other features'
 *                       public entries (src/<feature>/index.ts), never in a circle: .ci/folder-cycles.mjs (run by `npm run deps` after these
 *                       rules) fails when features depend on each other, directly or around, except
 *                       referrals and rfis (a referral is an RFI sent to a partner: docs/ARCHITECTURE.md).
 *                       What a lower feature needs from a higher one is passed in as a port it
 *                       declares (the outbox's poll, a partner's first key) or named, not imported
 *                       (the outbox's foreign keys).
 *   ground floor        src/graphql/ (errors, scalars, paging, the request context), src/db/ (data
 *                       source, pool, lock conflicts, migrations), src/logging/ and the domain's
 *                       pure vocabularies: the lifecycle (src/referrals/lifecycle.ts), company sizes
 *                       and locales. They import no feature, so that every feature can stand on
 *                       them. What a ground module needs from above (the entities, the services
 *                       behind the resolvers) is passed in by src/app/.
 *
 * No import cycle anywhere, type-only imports included: a cycle makes two modules one module that
 * nobody can read alone.
 */
const { GROUND, TWINS } = require("./.ci/layers.cjs");
const TWIN = `^src/(${TWINS.join("|")})/`;

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "An import cycle: break it by moving what both need down a floor, or by passing it in.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "ground-floor-imports-no-feature",
      comment: "graphql/, db/ and the lifecycle stand under every feature: they never import one (nor the app).",
      severity: "error",
      from: { path: GROUND },
      to: { path: "^src/[^/]+/", pathNot: GROUND },
    },
    {
      name: "only-entry-points-import-the-app",
      comment: "src/app/ wires everything; a feature that imports it would depend on every other feature.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/app/", "^src/main\\.ts$", "^src/admin/"] },
      to: { path: "^src/app/" },
    },
    {
      name: "features-meet-at-their-entry",
      comment:
        "A feature uses another through its public entry (src/<feature>/index.ts), never its files: what is not in the entry is the feature's own. Referrals and rfis, two halves of one thing, use each other's files (next rule); src/app/ wires everything from the files themselves.",
      severity: "error",
      from: { path: "^src/([^/]+)/", pathNot: ["^src/(app|admin)/", GROUND, TWIN] },
      to: { path: "^src/[^/]+/", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$", GROUND, "^src/app/"] },
    },
    {
      name: "referrals-and-rfis-meet-others-at-their-entry",
      comment: "Referrals and rfis use each other's files, and every other feature through its entry.",
      severity: "error",
      from: { path: TWIN },
      to: { path: "^src/[^/]+/", pathNot: [TWIN, "^src/[^/]+/index\\.ts$", GROUND, "^src/app/"] },
    },
    {
      name: "live-core-is-transport-neutral",
      comment:
        "The live core (fan-out, subscribers, the change stream, key watch) sees a client as a LiveSocket: only the protocol (protocol.ts, graphql-ws's messages) and the adapters (ws-adapter.ts, websocket.ts) know graphql-ws, and close-codes.ts takes graphql-ws's codes.",
      severity: "error",
      from: { path: "^src/live/", pathNot: ["^src/live/(ws-adapter|websocket|close-codes|protocol)\\.ts$"] },
      to: { path: "node_modules/(@types/)?(ws|graphql-ws)/" },
    },
    {
      name: "protocol-knows-no-transport",
      comment: "graphql-transport-ws (protocol.ts) works on any socket: ws-adapter.ts alone puts it on `ws`.",
      severity: "error",
      from: { path: "^src/live/protocol\\.ts$" },
      to: { path: "node_modules/(@types/)?ws/" },
    },
    {
      name: "no-orphans",
      comment: "A module nothing imports is dead code (entry points and migrations excepted).",
      severity: "error",
      from: { orphan: true, path: "^src/", pathNot: ["^src/main\\.ts$", "^src/admin/cli\\.ts$", "^src/db/migrations/", "^src/graphql/emit-schema\\.ts$", "\\.d\\.ts$"] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|web)/" },
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
  },
};
