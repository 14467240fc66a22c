"use strict";
// DOM glue for the panel: reads the Spectrum controls, runs scorer.js, shows progress,
// errors, the affect curve with the cuts and the result's metrics. Kept free of logic so
// that everything that matters is tested under node.

const ppro = require("premierepro");
const uxp = require("uxp");
const { createBridge } = require("./bridge_http.js");
const { curvePoints, cutPositions, metricLines } = require("./plot.js");
const { describeError, scoreActiveSequence } = require("./scorer.js");
const { BRIDGE_URLS, loadBridgeUrl, loadToken, saveBridgeUrl, saveToken } = require("./settings.js");

const STYLES = ["", "cinematic-orchestral", "ambient-electronic", "solo-piano", "acoustic-folk", "synthwave",
  "hybrid-trailer", "lofi"]; // in the order of the Style dropdown's items
const DENSITIES = ["sections", "peaks", "every:5"];
const PLOT_W = 200;
const PLOT_H = 60;
const SVG_NS = "http://www.w3.org/2000/svg";
const secure = uxp.storage.secureStorage;

const $ = (id) => document.getElementById(id);
let running = null; // {bridge, jobId} while a job runs

function show(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function busy(on) {
  for (const id of ["score", "rescore", "scoreXml"]) $(id).disabled = on;
  $("cancel").disabled = !on;
}

function pick(id, values) {
  const index = $(id).selectedIndex;
  return values[index >= 0 ? index : 0];
}

function plot(analysis) {
  const affect = analysis.affect || {};
  const { valence, arousal } = curvePoints(affect, PLOT_W, PLOT_H);
  $("valence").setAttribute("points", valence);
  $("arousal").setAttribute("points", arousal);
  const group = $("cuts");
  while (group.firstChild) group.removeChild(group.firstChild);
  for (const x of cutPositions(analysis.cuts, affect, PLOT_W)) {
    const line = document.createElementNS(SVG_NS, "line");
    for (const [k, v] of [["x1", x], ["x2", x], ["y1", 0], ["y2", PLOT_H], ["class", "cut"]]) line.setAttribute(k, String(v));
    group.appendChild(line);
  }
}

function showMetrics(metrics) {
  const box = $("metrics");
  box.textContent = "";
  for (const [label, value] of metricLines(metrics)) {
    const row = document.createElement("div");
    const name = document.createElement("span");
    const val = document.createElement("span");
    name.textContent = label;
    val.textContent = value;
    row.appendChild(name);
    row.appendChild(val);
    box.appendChild(row);
  }
}

async function run(mode, timelinePath) {
  const token = await loadToken(secure, window.localStorage);
  if (!token) {
    show("Set the bridge token first (Settings: paste it or choose the token file).", true);
    return;
  }
  const bridge = createBridge({ baseUrl: loadBridgeUrl(window.localStorage), token });
  running = { bridge, jobId: "" };
  busy(true);
  $("progress").value = 0;
  try {
    const temp = await uxp.storage.localFileSystem.getTemporaryFolder();
    const seed = parseInt($("seed").value, 10);
    const summary = await scoreActiveSequence({
      ppro,
      bridge,
      tempFolder: temp.nativePath,
      options: {
        mode: $("markersOnly").checked ? "markers" : mode,
        // Re-score keeps the last run's style and seed (read back from its markers)
        style: mode === "rescore" ? undefined : pick("style", STYLES) || undefined,
        markers: pick("density", DENSITIES),
        seed: mode === "rescore" ? undefined : Number.isInteger(seed) && seed >= 0 ? seed : 0,
        report: $("report").checked,
        timelinePath,
      },
      ui: {
        progress: (stage, fraction, message) => {
          $("progress").value = Math.round(fraction * 100);
          $("stage").textContent = stage;
          show(message);
        },
        status: (text) => show(text),
        jobStarted: (jobId) => {
          running.jobId = jobId;
        },
      },
    });
    plot(summary.analysis);
    showMetrics(summary.result.metrics);
    const where = summary.trackName ? ` "${summary.trackName}" on A${summary.audioTrack + 1};` : "";
    show(`Done:${where} style ${summary.style}, seed ${summary.seed}, ${summary.markers.length} markers.`);
  } catch (err) {
    show(describeError(err), true);
  } finally {
    running = null;
    busy(false);
    $("stage").textContent = "Ready";
  }
}

async function scoreExportedXml() {
  // Premiere before 26.2 cannot export for a plugin: File > Export > Final Cut Pro XML,
  // then pick that file here.
  const file = await uxp.storage.localFileSystem.getFileForOpening({ types: ["xml", "otio", "fcpxml"] });
  if (file) await run("score", file.nativePath);
}

async function cancel() {
  if (!running || !running.jobId) return;
  show("Cancelling…");
  try {
    await running.bridge.cancelJob(running.jobId); // the stream then ends with CANCELLED
  } catch (err) {
    show(describeError(err), true);
  }
}

async function chooseTokenFile() {
  // The user picks the bridge's token file once (~/.config/scorebridge/token); a picked
  // file needs no broad file-system permission.
  const file = await uxp.storage.localFileSystem.getFileForOpening({ allowMultiple: false });
  if (!file) return;
  await saveToken(secure, String(await file.read()));
  show("Token saved in Premiere's secure storage.");
}

function followTheme() {
  const theme = document.theme;
  if (!theme || typeof theme.getCurrent !== "function") return;
  const apply = (name) => {
    document.body.classList.remove("theme-light", "theme-dark");
    document.body.classList.add(String(name).includes("dark") ? "theme-dark" : "theme-light");
  };
  apply(theme.getCurrent());
  if (theme.onUpdated) theme.onUpdated.addListener(apply);
}

const safely = (f) => () => f().catch((err) => show(describeError(err), true));

document.addEventListener("DOMContentLoaded", () => {
  followTheme();
  $("bridgeUrl").selectedIndex = BRIDGE_URLS.indexOf(loadBridgeUrl(window.localStorage));
  $("score").addEventListener("click", safely(() => run("score")));
  $("rescore").addEventListener("click", safely(() => run("rescore")));
  $("scoreXml").addEventListener("click", safely(scoreExportedXml));
  $("cancel").addEventListener("click", safely(cancel));
  $("tokenFile").addEventListener("click", safely(chooseTokenFile));
  $("saveToken").addEventListener("click", safely(async () => {
    await saveToken(secure, $("token").value);
    $("token").value = "";
    show("Token saved in Premiere's secure storage.");
  }));
  $("bridgeUrl").addEventListener("change", () => saveBridgeUrl(window.localStorage, BRIDGE_URLS[$("bridgeUrl").selectedIndex]));
  $("toggleSettings").addEventListener("click", () => $("settings").classList.toggle("open"));
  // UXP cannot read a password field's value on macOS (Adobe's sp-textfield note): show the
  // text while the field has focus, hide it again after.
  $("token").addEventListener("focus", () => $("token").setAttribute("type", "text"));
  $("token").addEventListener("blur", () => $("token").setAttribute("type", "password"));
});
