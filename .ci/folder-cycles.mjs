// The layering between feature folders, on top of dependency-cruiser's module rules: no two
// features may depend on each other, directly or around a circle, except the pairs below.
// dependency-cruiser finds cycles between modules, not between folders; this reads its graph
// (JSON on stdin) and fails when features form a circle.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const { GROUND, TWINS } = createRequire(import.meta.url)("./layers.cjs");
/** Features that are two halves of one thing and say so in docs/ARCHITECTURE.md. */
const ALLOWED = [TWINS];
/** The ground floor, the composition root and the entry points are not features. */
const NOT_A_FEATURE = new RegExp(`^src/(app|admin)/|^src/[^/]+\\.ts$|${GROUND}`);

const graph = JSON.parse(readFileSync(0, "utf8"));
const featureOf = (path) => (path.startsWith("src/") && !NOT_A_FEATURE.test(path) ? path.split("/")[1] : undefined);
const edges = new Map();
for (const module of graph.modules) {
  const from = featureOf(module.source);
  if (!from) continue;
  for (const dependency of module.dependencies) {
    const to = featureOf(dependency.resolved);
    if (to && to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)).add(to);
  }
}

// Tarjan's strongly connected components: each one of more than one feature is a circle.
const index = new Map();
const low = new Map();
const stack = [];
const circles = [];
const visit = (feature) => {
  index.set(feature, index.size);
  low.set(feature, index.get(feature));
  stack.push(feature);
  for (const next of edges.get(feature) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(feature, Math.min(low.get(feature), low.get(next)));
    } else if (stack.includes(next)) low.set(feature, Math.min(low.get(feature), index.get(next)));
  }
  if (low.get(feature) !== index.get(feature)) return;
  const circle = [];
  for (let member; member !== feature; ) circle.push((member = stack.pop()));
  if (circle.length > 1) circles.push(circle.sort());
};
for (const feature of edges.keys()) if (!index.has(feature)) visit(feature);

const allowed = (circle) => ALLOWED.some((pair) => pair.length === circle.length && pair.every((feature) => circle.includes(feature)));
const forbidden = circles.filter((circle) => !allowed(circle));
for (const circle of forbidden) {
  const path = circle.flatMap((feature) => [...(edges.get(feature) ?? [])].filter((to) => circle.includes(to)).map((to) => `${feature} → ${to}`));
  console.error(`error feature-circle: ${circle.join(", ")} depend on each other (${path.join("; ")})`);
}
if (forbidden.length > 0) process.exit(1);
console.log(`✔ features form no circle (${edges.size} features; allowed: ${ALLOWED.map((pair) => pair.join(" ↔ ")).join(", ")})`);
