import { useEffect, useRef, useState } from "preact/hooks";
import { formatMonth } from "../format.js";

export interface Series {
  /** Also the points' `data-series`, for styles and tests. */
  key: string;
  name: string;
  /** One value per month; null where the month has none. */
  values: (number | null)[];
}

interface Props {
  title: string;
  months: string[];
  series: Series[];
  format(value: number): string;
}

const HEIGHT = 260;
/** Room for one month's label on the axis. */
const LABEL_WIDTH = 72;
const MARGIN = { left: 72, right: 36, top: 16, bottom: 40 };
const GRID_LINES = 4;

/** A step on the value axis that gives round labels: 1, 2 or 5 times a power of ten. */
function niceStep(max: number): number {
  const rough = max / GRID_LINES;
  const power = 10 ** Math.floor(Math.log10(rough));
  return ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
}

/** Lines and points per month, in plain SVG that scales to its box; the table below it carries the same numbers. */
export function LineChart({ title, months, series, format }: Props) {
  // Drawn at the box's own width, so that its text stays legible from a phone to a desktop.
  const box = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(240, Math.round(entry.contentRect.width))));
    if (box.current) observer.observe(box.current);
    return () => observer.disconnect();
  }, []);

  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const step = max > 0 ? niceStep(max) : 1;
  const top = step * GRID_LINES;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i: number) => MARGIN.left + (months.length === 1 ? plotWidth / 2 : (i * plotWidth) / (months.length - 1));
  const y = (v: number) => MARGIN.top + plotHeight - (v / top) * plotHeight;
  const labelEvery = Math.ceil(months.length / Math.max(1, Math.floor(plotWidth / LABEL_WIDTH)));

  return (
    <figure class="chart" ref={box}>
      <svg viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={title}>
        {Array.from({ length: GRID_LINES + 1 }, (_, i) => (
          <g key={`grid-${i}`} class="grid">
            <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(i * step)} y2={y(i * step)} />
            <text x={MARGIN.left - 8} y={y(i * step)} text-anchor="end" dominant-baseline="middle">
              {format(i * step)}
            </text>
          </g>
        ))}
        {months.map((month, i) =>
          i % labelEvery === 0 ? (
            <text key={month} class="axis" x={x(i)} y={HEIGHT - 12} text-anchor="middle">
              {formatMonth(month)}
            </text>
          ) : null,
        )}
        {series.map((s) => (
          <g key={s.key} class={`series series-${s.key}`}>
            <path d={pathOf(s.values, x, y)} fill="none" />
            {s.values.map((value, i) =>
              value === null ? null : (
                <circle key={months[i]} data-series={s.key} cx={x(i)} cy={y(value)} r={4}>
                  <title>{`${s.name}, ${formatMonth(months[i])}: ${format(value)}`}</title>
                </circle>
              ),
            )}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((s) => (
            <li key={s.key} class={`series-${s.key}`}>
              {s.name}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

/** A line through consecutive months with a value; a month without one breaks the line. */
function pathOf(values: (number | null)[], x: (i: number) => number, y: (v: number) => number): string {
  let d = "";
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null) {
      drawing = false;
      return;
    }
    d += `${drawing ? "L" : "M"}${x(i).toFixed(1)},${y(value).toFixed(1)}`;
    drawing = true;
  });
  return d;
}
