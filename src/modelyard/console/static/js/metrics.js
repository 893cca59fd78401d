// Metrics scraped from log lines like "epoch=3 loss=0.12 accuracy=0.95" (or "loss: 0.12").
const PAIR = /(?:^|[\s,;|(\[{])([A-Za-z_][A-Za-z0-9_./-]{0,40})\s*[=:]\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?=$|[\s,;|)\]}%])/g;
const STEP_KEYS = ['epoch', 'step', 'iteration', 'iter', 'global_step', 'batch'];

export class MetricParser {
  constructor() {
    this.series = new Map(); // name -> [[x, y], ...]
    this.counter = 0;
    this.partial = '';
    this.stepKey = null;
  }

  feed(text) {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop();
    let changed = false;
    for (const line of lines) changed = this.line(line) || changed;
    return changed;
  }

  line(line) {
    if (line.startsWith('[ModelYard Service Log]')) return false;
    const pairs = [];
    PAIR.lastIndex = 0;
    let m;
    while ((m = PAIR.exec(line)) !== null) {
      const v = Number(m[2]);
      if (Number.isFinite(v)) pairs.push([m[1], v]);
    }
    if (!pairs.length) return false;
    const stepPair = pairs.find(([k]) => STEP_KEYS.includes(k.toLowerCase()));
    const values = pairs.filter((p) => p !== stepPair);
    if (!values.length) return false;
    // Once the log counts steps, a line without one is a summary ("accuracy=0.95" at the
    // end), not another step.
    if (!stepPair && this.stepKey) return false;
    this.counter += 1;
    const x = stepPair ? stepPair[1] : this.counter;
    if (stepPair) this.stepKey = stepPair[0];
    for (const [k, v] of values) {
      if (!this.series.has(k)) this.series.set(k, []);
      this.series.get(k).push([x, v]);
    }
    return true;
  }

  charts(max = 6) {
    return [...this.series.entries()].filter(([, pts]) => pts.length >= 1).slice(0, max);
  }
}
