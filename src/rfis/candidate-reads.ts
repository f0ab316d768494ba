import type { DataSource } from "typeorm";
import { readCandidates, type RegionCandidates } from "./suggestions.js";

/**
 * Routing's reads, before the RFI's transaction and shared by the requests that want the same region
 * at the same time: a burst of arrivals to one region reads its profiles and counters a few times
 * rather than once per RFI. A request joins only a read still in flight, so what it ranks is at most
 * one read old; nothing is kept after it.
 */
export class CandidateReads {
  private readonly inFlight = new Map<string, Promise<RegionCandidates>>();

  constructor(private readonly db: DataSource) {}

  of(region: string): Promise<RegionCandidates> {
    let read = this.inFlight.get(region);
    if (!read) {
      read = readCandidates(this.db.manager, region).finally(() => this.inFlight.delete(region));
      this.inFlight.set(region, read);
    }
    return read;
  }
}
