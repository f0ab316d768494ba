/** Keywords as stored: trimmed, and each only once whatever its case. */
export function normaliseKeywords(keywords: readonly string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const keyword of keywords) {
    const trimmed = keyword.trim();
    const folded = trimmed.toLowerCase();
    if (trimmed && !seen.has(folded)) {
      seen.add(folded);
      kept.push(trimmed);
    }
  }
  return kept;
}
