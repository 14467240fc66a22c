"use strict";
// The affect curve as SVG polyline points with the cuts drawn on it, and the last result's
// metrics as lines of text. Pure, so node tests it.

// valence/arousal in -1..1, one value per hop; returns {valence, arousal} "x,y x,y" strings
// for a width x height box (y grows downward; 0 sits in the middle).
function curvePoints(affect, width, height) {
  const series = (values) => {
    const n = values.length;
    if (!n) return "";
    const step = n > 1 ? width / (n - 1) : 0;
    return values
      .map((v, i) => {
        const y = ((1 - Math.max(-1, Math.min(1, Number(v)))) / 2) * height;
        return `${(i * step).toFixed(1)},${y.toFixed(1)}`;
      })
      .join(" ");
  };
  return { valence: series(affect.valence || []), arousal: series(affect.arousal || []) };
}

// The x of each cut in the same box: the curve's value i sits at i * hop_s seconds, so a
// cut at t seconds sits at t / ((n - 1) * hop_s) of the width. Cuts past the end are dropped.
function cutPositions(cuts, affect, width) {
  const n = (affect.valence || affect.arousal || []).length;
  const span = (n - 1) * Number(affect.hop_s || 1);
  if (!(span > 0)) return [];
  return (cuts || [])
    .map((cut) => Number(cut.time_s))
    .filter((t) => t > 0 && t <= span)
    .map((t) => Number(((t / span) * width).toFixed(1)));
}

const METRICS = [
  ["cut_beat_hit_rate_50ms", "Cuts on a beat (±50 ms)", (v) => `${Math.round(v * 100)} %`],
  ["cut_beat_hit_rate_frame", "Cuts on a beat (±1 frame)", (v) => `${Math.round(v * 100)} %`],
  ["integrated_lufs", "Loudness", (v) => `${v.toFixed(1)} LUFS`],
  ["true_peak_dbtp", "True peak", (v) => `${v.toFixed(1)} dBTP`],
];

// [label, value] pairs for the metrics a result carries, in a fixed order.
function metricLines(metrics) {
  const out = [];
  for (const [key, label, format] of METRICS) {
    const value = metrics ? Number(metrics[key]) : NaN;
    if (metrics && key in metrics && Number.isFinite(value)) out.push([label, format(value)]);
  }
  return out;
}

module.exports = { curvePoints, cutPositions, metricLines };
