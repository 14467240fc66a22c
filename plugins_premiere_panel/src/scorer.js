"use strict";
// The panel's work, apart from the DOM: export the active sequence, have the bridge score
// it, then import the result. `ppro` is the premierepro module (a fake in the tests).
//
// Order matters for "no half-done edits": the bridge is asked first and nothing in the
// project changes until it has answered with a finished result; a missing bridge, a wrong
// token, a failed or cancelled job leave the project as it was.

const { BridgeError } = require("./bridge_http.js");
const { colorIndex, markerComments, parseComments } = require("./markers.js");

const BIN_NAME = "Scorebridge";

class PanelError extends Error {
  constructor(message) {
    super(message);
    this.name = "PanelError";
  }
}

// Runs one change inside the host's lock and transaction, as UXP requires for actions.
function transact(project, label, makeActions) {
  let ok = false;
  project.lockedAccess(() => {
    ok = project.executeTransaction((compoundAction) => {
      for (const action of makeActions()) compoundAction.addAction(action);
    }, label);
  });
  if (ok === false) throw new PanelError(`Premiere refused the change "${label}"`);
}

async function exportSequence(ppro, sequence, folder, stamp) {
  const converter = ppro.ProjectConverter;
  if (typeof converter.exportAsOpenTimelineIO === "function") {
    const path = `${folder}/scorebridge-${stamp}.otio`;
    if (await converter.exportAsOpenTimelineIO(sequence, path, true)) return path;
  }
  // Older Premiere, or an OTIO export that failed: FCP 7 XML is read by the bridge too.
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
  // Every run's file is called score.wav, so the item is found by its media path.
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

// The one entry point. options: {mode: "score"|"markers", style, seed, markers}; ui: {progress(stage,
// fraction, message), status(text), jobStarted(jobId)}. Resolves with a summary for the UI.
async function scoreActiveSequence({ ppro, bridge, tempFolder, options = {}, ui = {}, signal }) {
  const progress = ui.progress || (() => {});
  const status = ui.status || (() => {});
  const mode = options.mode === "markers" ? "markers" : "score";
  const seed = Number.isInteger(options.seed) ? options.seed : 0;

  const project = await ppro.Project.getActiveProject();
  if (!project) throw new PanelError("no project is open");
  const sequence = await project.getActiveSequence();
  if (!sequence) throw new PanelError("no sequence is active: open the cut to score");

  await bridge.health(); // before anything else: a missing bridge must leave no trace
  status("exporting the sequence…");
  const timelinePath = await exportSequence(ppro, sequence, tempFolder, Date.now());

  const method = mode === "markers" ? "AnalyzeTimeline" : "ScoreTimeline";
  const scoreOptions = { seed };
  if (options.style) scoreOptions.style = options.style;
  if (options.markers) scoreOptions.markers = options.markers; // "sections", "peaks", "every:N"
  if (options.outputDir && mode === "score") scoreOptions.output_dir = options.outputDir;
  let jobId = "";
  const result = await bridge.stream(
    method,
    { path: timelinePath, options: scoreOptions },
    (event) => {
      if (!jobId && event.job_id) {
        jobId = event.job_id;
        if (ui.jobStarted) ui.jobStarted(jobId);
      }
      if (event.progress) {
        const p = event.progress;
        progress(p.stage || "", Number(p.fraction || 0), p.message || "");
      }
    },
    signal,
  );

  const analysis = mode === "markers" ? result : result.analysis || {};
  const style = (analysis.style && analysis.style.name) || options.style || "";
  const wanted = analysis.markers || [];

  // ---- edits start here, only with a finished result in hand
  let audioTrack = null;
  const editor = ppro.SequenceEditor.getEditor(sequence);
  let clip = null;
  if (mode === "score") {
    clip = await importWav(ppro, project, result.wav_path);
    // An audio index one past the last track makes Premiere add a new track for the score.
    audioTrack = await sequence.getAudioTrackCount();
  }
  const { markers, ours } = await ourMarkers(ppro, sequence);
  transact(project, mode === "score" ? "Scorebridge: score" : "Scorebridge: affect markers", () => {
    const actions = [];
    if (clip) {
      actions.push(
        editor.createInsertProjectItemAction(clip, ppro.TickTime.createWithSeconds(0), 0, audioTrack, false),
      );
    }
    for (const old of ours) actions.push(markers.createRemoveMarkerAction(old));
    for (const m of wanted) {
      actions.push(
        markers.createAddMarkerAction(
          m.name || "",
          ppro.Marker.MARKER_TYPE_COMMENT,
          ppro.TickTime.createWithSeconds(Number(m.start_s || 0)),
          ppro.TickTime.createWithSeconds(Number(m.duration_s || 0)),
          markerComments(m, { style, seed, jobId: result.job_id || jobId }),
        ),
      );
    }
    return actions;
  });

  // Colours are set on the markers themselves, so find the ones just added.
  const colorOf = new Map(
    wanted.map((m) => [markerComments(m, { style, seed, jobId: result.job_id || jobId }), colorIndex(m.color)]),
  );
  const added = (await ourMarkers(ppro, sequence)).ours;
  const colored = [];
  for (const marker of added) {
    const index = colorOf.get(await marker.getComments());
    if (index !== undefined) colored.push([marker, index]);
  }
  if (colored.length) {
    transact(project, "Scorebridge: marker colours", () =>
      colored.map(([marker, index]) => marker.createSetColorByIndexAction(index)),
    );
  }
  status(
    mode === "score"
      ? `Scored: ${wanted.length} markers, soundtrack on a new audio track (A${audioTrack + 1}).`
      : `${wanted.length} affect markers added.`,
  );
  return { jobId: result.job_id || jobId, result, analysis, style, seed, audioTrack, markers: wanted };
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

module.exports = { BIN_NAME, PanelError, describeError, exportSequence, scoreActiveSequence };
