import { byId } from "../graphql/loaders.js";
import { Rfi } from "./rfi.entity.js";

export const rfiById = byId(Rfi);
