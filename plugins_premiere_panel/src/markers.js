"use strict";
// How the bridge's affect markers become Premiere comment markers, and how the panel
// recognises its own markers later: a tag line in the comments, never the editor's.

const TAG = "scorebridge:";

// OTIO colour names (what the bridge sends) -> Premiere marker colour indices
// (0 green, 1 red, 2 purple, 3 orange, 4 yellow, 5 white, 6 blue, 7 cyan).
const PREMIERE_COLOR_INDEX = {
  GREEN: 0,
  RED: 1,
  PINK: 1,
  PURPLE: 2,
  MAGENTA: 2,
  ORANGE: 3,
  YELLOW: 4,
  WHITE: 5,
  BLACK: 5,
  BLUE: 6,
  CYAN: 7,
};
const DEFAULT_COLOR_INDEX = 6;

// The reference types list Constants.MarkerColor (GREEN RED MAGNETA ORANGE YELLOW BLUE
// CYAN) without values; where the host gives numbers, they win over the table above, which
// is the classic index order and still to be confirmed on a host.
const CONSTANT_NAME = { PINK: "RED", PURPLE: "MAGNETA", MAGENTA: "MAGNETA" };

function colorIndex(otioColor, markerColorConstants) {
  const name = String(otioColor || "").toUpperCase();
  if (markerColorConstants) {
    const key = CONSTANT_NAME[name] || name;
    const value = markerColorConstants[key] !== undefined ? markerColorConstants[key] : markerColorConstants[key.replace("MAGNETA", "MAGENTA")];
    if (Number.isInteger(value)) return value;
  }
  const index = PREMIERE_COLOR_INDEX[name];
  return index === undefined ? DEFAULT_COLOR_INDEX : index;
}

function round6(x) {
  return Math.round(Number(x || 0) * 1e6) / 1e6;
}

// The comments of one of our markers: the bridge's note, then the tag line with the values
// (the same fields the Resolve plugin keeps in customData).
function markerComments(marker, { style, seed, jobId }) {
  const payload = {
    arousal: round6(marker.arousal),
    job_id: jobId,
    quadrant: marker.quadrant || "",
    seed,
    start_s: round6(marker.start_s),
    style,
    valence: round6(marker.valence),
  };
  const note = marker.note ? `${marker.note}\n` : "";
  return `${note}${TAG}${JSON.stringify(payload)}`;
}

// The tag payload of a marker's comments, or null for anybody else's marker.
function parseComments(comments) {
  const text = String(comments || "");
  const at = text.lastIndexOf(TAG);
  if (at < 0 || (at > 0 && text[at - 1] !== "\n")) return null;
  try {
    return JSON.parse(text.slice(at + TAG.length));
  } catch (_) {
    return {};
  }
}

module.exports = { TAG, PREMIERE_COLOR_INDEX, colorIndex, markerComments, parseComments };
