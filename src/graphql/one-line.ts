/**
 * Text shown to others as one line: control characters (line breaks, tabs, NUL…), Unicode line and
 * paragraph separators, and the direction overrides that make text read otherwise than it is written.
 */
const LAYOUT_CONTROLS = "\\p{Cc}\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069";

/** Text with none of them: what input shown as one line must match. */
export const ONE_LINE = new RegExp(`^[^${LAYOUT_CONTROLS}]*$`, "u");

const LAYOUT = new RegExp(`[${LAYOUT_CONTROLS}\\s]+`, "gu");

/**
 * `text` on one line, at most `max` code points (cut with an ellipsis): for text written by one party
 * and read by another, whatever was stored before input refused such characters.
 */
export function oneLine(text: string, max: number): string {
  const chars = Array.from(text.replace(LAYOUT, " ").trim());
  return chars.length <= max
    ? chars.join("")
    : `${chars
        .slice(0, max - 1)
        .join("")
        .trimEnd()}…`;
}
