"use strict";
// DOM glue for the panel: reads the controls, runs scorer.js, shows progress and errors.
// Kept free of logic so that everything that matters is tested under node.

const ppro = require("premierepro");
const uxp = require("uxp");
const { createBridge, DEFAULT_BASE_URL } = require("./bridge_http.js");
const { curvePoints } = require("./plot.js");
const { describeError, scoreActiveSequence } = require("./scorer.js");

const TOKEN_KEY = "scorebridge.token";
const $ = (id) => document.getElementById(id);

let running = null; // {bridge, jobId, abort} while a job runs

function show(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function plot(affect) {
  const { valence, arousal } = curvePoints(affect || {}, 200, 60);
  $("valence").setAttribute("points", valence);
  $("arousal").setAttribute("points", arousal);
}

async function chooseTokenFile() {
  // The user picks the bridge's token file once (~/.config/scorebridge/token); a picked
  // file needs no broad file-system permission.
  const file = await uxp.storage.localFileSystem.getFileForOpening({ allowMultiple: false });
  if (!file) return;
  const token = String(await file.read()).trim();
  localStorage.setItem(TOKEN_KEY, token);
  $("token").value = token;
  show("Token saved.");
}

async function run() {
  const token = $("token").value.trim() || localStorage.getItem(TOKEN_KEY) || "";
  if (!token) {
    show("Set the bridge token first (Settings: paste it or choose the token file).", true);
    return;
  }
  localStorage.setItem(TOKEN_KEY, token);
  const bridge = createBridge({ baseUrl: DEFAULT_BASE_URL, token });
  const abort = typeof AbortController === "function" ? new AbortController() : null;
  running = { bridge, jobId: "", abort };
  $("score").disabled = true;
  $("cancel").disabled = false;
  $("progress").value = 0;
  try {
    const temp = await uxp.storage.localFileSystem.getTemporaryFolder();
    const seed = parseInt($("seed").value, 10);
    const summary = await scoreActiveSequence({
      ppro,
      bridge,
      tempFolder: temp.nativePath,
      options: {
        mode: $("markersOnly").checked ? "markers" : "score",
        style: $("style").value || undefined,
        markers: $("density").value || undefined,
        seed: Number.isInteger(seed) && seed >= 0 ? seed : 0,
      },
      ui: {
        progress: (stage, fraction, message) => {
          $("progress").value = Math.round(fraction * 100);
          show(`${stage}: ${message}`);
        },
        status: (text) => show(text),
        jobStarted: (jobId) => {
          running.jobId = jobId;
        },
      },
      signal: abort ? abort.signal : undefined,
    });
    plot(summary.analysis.affect);
    show(`Done: style ${summary.style}, seed ${summary.seed}, ${summary.markers.length} markers.`);
  } catch (err) {
    show(describeError(err), true);
  } finally {
    running = null;
    $("score").disabled = false;
    $("cancel").disabled = true;
  }
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

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = localStorage.getItem(TOKEN_KEY) || "";
  $("score").addEventListener("click", run);
  $("cancel").addEventListener("click", cancel);
  $("tokenFile").addEventListener("click", () => chooseTokenFile().catch((e) => show(describeError(e), true)));
});
