"use strict";
// The panel's work, apart from the DOM: export the active sequence, have the bridge score
// it, then import the result. `ppro` is the premierepro module (a fake in the tests).
//
// Order matters for "no half-done edits": the bridge is asked first and nothing in the
// project changes until it has answered with a finished result; a missing bridge, a wrong
// token, a failed or cancelled job leave the project as it was.

const { BridgeError } = require("./bridge_http.js");
const { colorIndex, markerComments, parseComments } = require("./markers.js");
const { PanelError, placeScore, previousScorePath, transact } = require("./placement.js");

const BIN_NAME = "Scorebridge";
const MEDIA_FOLDER = "Scorebridge Media"; // beside the project file, so the project stays portable

// Premiere before 26.2 has no ProjectConverter: the editor exports the XML by hand.
const NEEDS_EXPORT =
  "this Premiere cannot export a sequence to a plugin (ProjectConverter needs Premiere Pro 26.2 " +
  "or later). Use File > Export > Final Cut Pro XML…, then \"Score an exported XML\" in this panel.";

async function exportSequence(ppro, sequence, folder, stamp) {
  const converter = ppro.ProjectConverter;
  if (!converter) throw new PanelError(NEEDS_EXPORT);
  if (typeof converter.exportAsOpenTimelineIO === "function") {
    const path = `${folder}/scorebridge-${stamp}.otio`;
    if (await converter.exportAsOpenTimelineIO(sequence, path, true)) return path;
  }
  // An OTIO export that failed: FCP 7 XML is read by the bridge too.
  const path = `${folder}/scorebridge-${stamp}.xml`;
  if (await converter.exportAsFinalCutProXML(sequence, path, true)) return path;
  throw new PanelError("Premiere could not export the sequence (OpenTimelineIO or FCP XML)");
}

async function findOrMakeBin(ppro, project) {
  const root = await project.getRootItem();
  const find = async () => {
    for (const item of await root.getItems()) {
      if (item.name === BIN_NAME) return ppro.FolderItem.cast(item);
    }
    return null;
  };
  const existing = await find();
  if (existing) return existing;
  transact(project, "Scorebridge: add bin", () => [root.createBinAction(BIN_NAME, true)]);
  const made = await find();
  if (!made) throw new PanelError(`could not create the "${BIN_NAME}" bin`);
  return made;
}

async function importWav(ppro, project, wavPath) {
  const bin = await findOrMakeBin(ppro, project);
  const ok = await project.importFiles([wavPath], true, bin, false);
  if (!ok) throw new PanelError(`Premiere could not import ${wavPath}`);
  // Found by its media path: the item's name is the panel's to change ("Score v2").
  for (const item of await bin.getItems()) {
    const clip = ppro.ClipProjectItem.cast(item);
    if (clip && (await clip.getMediaFilePath()) === wavPath) return clip;
  }
  throw new PanelError(`imported ${wavPath} but cannot find it in the "${BIN_NAME}" bin`);
}

async function ourMarkers(ppro, sequence) {
  const markers = await ppro.Markers.getMarkers(sequence);
  const ours = [];
  for (const marker of await markers.getMarkers()) {
    if (parseComments(await marker.getComments()) !== null) ours.push(marker);
  }
  return { markers, ours };
}

// Seconds -> a TickTime on the sequence's frame grid (23.976 and 29.97 included): whole
// frames of the sequence timebase (ticks per frame), so a marker never sits between frames.
async function frameSnapper(ppro, sequence) {
  const ticksPerFrame = Number(await sequence.getTimebase());
  const ticksPerSecond = ppro.TickTime.createWithSeconds(1).ticksNumber;
  return (secondsValue) => {
    const frames = Math.round((Number(secondsValue || 0) * ticksPerSecond) / ticksPerFrame);
    return ppro.TickTime.createWithTicks(String(frames * ticksPerFrame));
  };
}

// "<project folder>/Scorebridge Media/<sequence>-<stamp>", in the project path's own style.
function mediaFolderFor(projectPath, sequenceName, stamp) {
  const cut = Math.max(projectPath.lastIndexOf("/"), projectPath.lastIndexOf("\\"));
  if (cut < 0) return "";
  const sep = projectPath[cut];
  const safe = String(sequenceName || "sequence").replace(/[^\w .-]+/g, "_").trim() || "sequence";
  return `${projectPath.slice(0, cut)}${sep}${MEDIA_FOLDER}${sep}${safe}-${stamp}`;
}

function dirname(file) {
  const cut = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"));
  return cut < 0 ? "" : file.slice(0, cut);
}

// The style and seed the last run used, from our markers' tag.
async function previousRun(ppro, sequence) {
  const { ours } = await ourMarkers(ppro, sequence);
  for (const marker of ours) {
    const data = parseComments(await marker.getComments()) || {};
    if ("style" in data || "seed" in data) return { style: data.style, seed: data.seed };
  }
  return {};
}

// A bridge that does not know `previous_result` refuses the whole request naming it.
function unknownField(err, field) {
  return err instanceof BridgeError && err.code === "INVALID_ARGUMENT" && String(err.message).includes(field);
}

// The one entry point. options: {mode: "score"|"rescore"|"markers", style, seed, markers,
// report, timelinePath (an exported XML/OTIO: skips the export), outputDir};
// ui: {progress(stage, fraction, message), status(text), jobStarted(jobId)}.
// Resolves with a summary for the UI.
async function scoreActiveSequence({ ppro, bridge, tempFolder, options = {}, ui = {} }) {
  const progress = ui.progress || (() => {});
  const status = ui.status || (() => {});
  const mode = ["markers", "rescore"].includes(options.mode) ? options.mode : "score";
  const stamp = Date.now();

  const project = await ppro.Project.getActiveProject();
  if (!project) throw new PanelError("no project is open");
  const sequence = await project.getActiveSequence();
  if (!sequence) throw new PanelError("no sequence is active: open the cut to score");

  let { style, seed } = options;
  let previous = "";
  if (mode === "rescore") {
    const last = await previousRun(ppro, sequence);
    style = style || last.style;
    seed = Number.isInteger(seed) ? seed : last.seed;
    previous = await previousScorePath(ppro, sequence);
    if (!previous && !("seed" in last)) status("no earlier score on this sequence: scoring afresh");
  }
  seed = Number.isInteger(seed) ? seed : 0;

  await bridge.health(); // before anything else: a missing bridge must leave no trace
  let timelinePath = options.timelinePath;
  if (!timelinePath) {
    status("exporting the sequence…");
    timelinePath = await exportSequence(ppro, sequence, tempFolder, stamp);
  }

  const method = mode === "markers" ? "AnalyzeTimeline" : "ScoreTimeline";
  const scoreOptions = { seed };
  if (style) scoreOptions.style = style;
  if (options.markers) scoreOptions.markers = options.markers; // "sections", "peaks", "every:N"
  if (options.report && method === "ScoreTimeline") scoreOptions.report = true;
  if (method === "ScoreTimeline") {
    const outputDir = options.outputDir || (previous && dirname(previous)) ||
      (project.path ? mediaFolderFor(project.path, sequence.name, stamp) : "");
    if (outputDir) scoreOptions.output_dir = outputDir;
  }
  if (previous) scoreOptions.previous_result = previous;

  let jobId = "";
  const onEvent = (event) => {
    if (!jobId && event.job_id) {
      jobId = event.job_id;
      if (ui.jobStarted) ui.jobStarted(jobId);
    }
    if (event.progress) {
      const p = event.progress;
      progress(p.stage || "", Number(p.fraction || 0), p.message || "");
    }
  };
  let result;
  let continuity = Boolean(previous);
  try {
    result = await bridge.stream(method, { path: timelinePath, options: scoreOptions }, onEvent);
  } catch (err) {
    if (!previous || !unknownField(err, "previous_result")) throw err;
    // This bridge has no continuity re-score yet: the same style and seed, a new folder.
    continuity = false;
    status("this bridge cannot keep the earlier music yet; scoring again with the same style and seed");
    delete scoreOptions.previous_result;
    scoreOptions.output_dir = options.outputDir ||
      (project.path ? mediaFolderFor(project.path, sequence.name, stamp) : "");
    if (!scoreOptions.output_dir) delete scoreOptions.output_dir;
    result = await bridge.stream(method, { path: timelinePath, options: scoreOptions }, onEvent);
  }

  const analysis = method === "AnalyzeTimeline" ? result : result.analysis || {};
  const usedStyle = (analysis.style && analysis.style.name) || style || "";
  const wanted = analysis.markers || [];
  const tag = { style: usedStyle, seed, jobId: result.job_id || jobId };

  // ---- edits start here, only with a finished result in hand
  let placed = null;
  if (method === "ScoreTimeline") {
    const clip = await importWav(ppro, project, result.wav_path);
    placed = await placeScore(ppro, project, sequence, clip, { status });
  }
  const snap = await frameSnapper(ppro, sequence);
  const { markers, ours } = await ourMarkers(ppro, sequence);
  transact(project, "Scorebridge: affect markers", () => {
    const actions = ours.map((old) => markers.createRemoveMarkerAction(old));
    for (const m of wanted) {
      actions.push(
        markers.createAddMarkerAction(
          m.name || "",
          ppro.Marker.MARKER_TYPE_COMMENT,
          snap(m.start_s),
          snap(m.duration_s),
          markerComments(m, tag),
        ),
      );
    }
    return actions;
  });

  // Colours are set on the markers themselves, so find the ones just added.
  const hostColors = ppro.Constants && ppro.Constants.MarkerColor;
  const colorOf = new Map(wanted.map((m) => [markerComments(m, tag), colorIndex(m.color, hostColors)]));
  const colored = [];
  for (const marker of (await ourMarkers(ppro, sequence)).ours) {
    const index = colorOf.get(await marker.getComments());
    if (index !== undefined) colored.push([marker, index]);
  }
  if (colored.length) {
    transact(project, "Scorebridge: marker colours", () =>
      colored.map(([marker, index]) => marker.createSetColorByIndexAction(index)),
    );
  }
  status(
    placed
      ? `Scored: ${wanted.length} markers, "${placed.name}" on A${placed.index + 1}` +
          (placed.muted.length ? `; earlier versions muted (${placed.muted.join(", ")})` : "") + "."
      : `${wanted.length} affect markers added.`,
  );
  return {
    jobId: tag.jobId, result, analysis, style: usedStyle, seed, markers: wanted, continuity,
    audioTrack: placed ? placed.index : null, trackName: placed ? placed.name : "", placed,
  };
}

// One line for the user from any failure; never a stack trace.
function describeError(err) {
  if (err instanceof BridgeError) {
    if (err.code === "CANCELLED") return "Cancelled. Nothing was changed in the sequence.";
    if (err.kind === "remote") return `The bridge could not score this sequence: ${err.message}`;
    return err.message;
  }
  if (err instanceof PanelError) return `Scorebridge: ${err.message}`;
  return `Scorebridge: unexpected error: ${err && err.message ? err.message : err}`;
}

module.exports = { BIN_NAME, MEDIA_FOLDER, NEEDS_EXPORT, PanelError, describeError, exportSequence, mediaFolderFor, scoreActiveSequence };
