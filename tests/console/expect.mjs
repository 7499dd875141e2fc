// Assertions shared by the console's browser test cases.
import {minor} from './api.mjs';

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// The summary/child-row cells the contract names, as the API has them (data-minor / data-bp).
export function expectedCells(nf) {
  return {
    closed: minor(nf.closed), collected: minor(nf.collected), weighted: minor(nf.pipelineWeighted),
    forecast: minor(nf.forecast), quota: minor(nf.quota), gap: minor(nf.gap),
    coverage: String(nf.coverageBp ?? '0'), needsPipeline: Boolean(nf.needsMorePipeline),
  };
}

// Throws listing every field where the page's `actual` (browser.cells) differs from `nf`.
export function compareCells(actual, nf, where) {
  const want = expectedCells(nf);
  const diffs = Object.keys(want).filter((k) => actual[k] !== want[k])
      .map((k) => `${k}: page ${JSON.stringify(actual[k])}, API ${JSON.stringify(want[k])}`);
  check(diffs.length === 0, `${where}: the page differs from GetForecast:\n  ${diffs.join('\n  ')}`);
}
