// Writes schema/schema.graphql from the code: `npm run schema`.
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import { printAppSchema } from "./schema.js";

await writeFile(new URL("../../../schema/schema.graphql", import.meta.url), await printAppSchema());
console.log("wrote schema/schema.graphql");
