"use strict";
// The affect curve as SVG polyline points, for the panel's small plot. Pure, so node tests it.

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

module.exports = { curvePoints };
