/**
 * The benchmark's chart: grouped horizontal bars, one group per measure,
 * one bar per tool, as a standalone SVG. Pure: the caller writes the text.
 *
 * @module
 */

/** One group of bars, e.g. "1 GiB random, up". */
export interface BarGroup {
  readonly label: string;
  readonly bars: readonly { readonly tool: string; readonly value: number }[];
}

/** What the chart shows. */
export interface ChartSpec {
  readonly title: string;
  readonly unit: string;
  readonly groups: readonly BarGroup[];
}

const COLOURS = [
  "#d9480f",
  "#1971c2",
  "#2f9e44",
  "#ae3ec9",
  "#f08c00",
  "#0c8599",
  "#5c940d",
  "#868e96",
  "#c2255c",
];
const BAR = 14;
const GAP = 4;
const LABEL_W = 150;
const PLOT_W = 420;
const VALUE_W = 70;

/** The SVG text of `spec`; fts's bars come first in each group and in the legend. */
export function renderChart(spec: ChartSpec): string {
  const tools = [
    ...new Set(spec.groups.flatMap((g) => g.bars.map((b) => b.tool))),
  ];
  const colour = new Map(
    tools.map((t, i) => [t, COLOURS[i % COLOURS.length]!]),
  );
  const max = Math.max(
    1e-9,
    ...spec.groups.flatMap((g) => g.bars.map((b) => b.value)),
  );
  const width = LABEL_W + PLOT_W + VALUE_W;
  const parts: string[] = [];
  let y = 36;
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-weight="bold">` +
      `${escape(spec.title)}</text>`,
  );
  for (const group of spec.groups) {
    const height = group.bars.length * (BAR + GAP);
    parts.push(
      `<text x="${LABEL_W - 8}" y="${y + height / 2 + 4}" text-anchor="end">` +
        `${escape(group.label)}</text>`,
    );
    for (const bar of group.bars) {
      const w = Math.max(1, (bar.value / max) * PLOT_W);
      parts.push(
        `<rect x="${LABEL_W}" y="${y}" width="${
          w.toFixed(1)
        }" height="${BAR}" ` +
          `fill="${colour.get(bar.tool)}"><title>${escape(bar.tool)}: ` +
          `${format(bar.value)} ${escape(spec.unit)}</title></rect>`,
        `<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${y + BAR - 3}" ` +
          `font-size="11">${format(bar.value)}</text>`,
      );
      y += BAR + GAP;
    }
    y += 10;
  }
  let x = LABEL_W;
  for (const tool of tools) {
    parts.push(
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${
        colour.get(tool)
      }"/>`,
      `<text x="${x + 16}" y="${y + 10}" font-size="12">${escape(tool)}</text>`,
    );
    x += 22 + tool.length * 7;
  }
  y += 36;
  parts.push(
    `<text x="${LABEL_W}" y="${y - 6}" font-size="11" fill="#555">` +
      `${escape(spec.unit)}, median of the runs; longer is faster</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" ` +
    `height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" ` +
    `font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n` +
    parts.join("\n") + "\n</svg>\n";
}

function format(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}
