import { strict as assert } from "node:assert";
import { renderChart } from "../../bench/chart_svg.ts";

Deno.test("the chart draws one bar per tool and group, as long as its value allows", () => {
  const svg = renderChart({
    title: "A <b> & c",
    unit: "MB/s",
    groups: [
      {
        label: "random, up",
        bars: [{ tool: "fts", value: 400 }, { tool: "sftp", value: 200 }],
      },
      { label: "random, down", bars: [{ tool: "fts", value: 100 }] },
    ],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const widths = [
    ...svg.matchAll(/<rect x="150" y="\d+" width="([\d.]+)" height="14"/g),
  ]
    .map((m) => Number(m[1]));
  assert.deepEqual(widths, [420, 210, 105]);
  assert.match(svg, /A &lt;b&gt; &amp; c/);
  assert.match(svg, /<title>sftp: 200 MB\/s<\/title>/);
  // The legend names each tool once.
  assert.equal(svg.match(/>fts<\/text>/g)?.length, 1);
});
