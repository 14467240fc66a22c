"use strict";
// The pure parts of the panel: SSE parsing, colours, the comment tag, the plot, the manifest.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");

const { SseParser } = require("../src/bridge_http.js");
const { colorIndex, markerComments, parseComments } = require("../src/markers.js");
const { curvePoints } = require("../src/plot.js");

test("SSE: events split across chunks, CRLF, multi-line data", () => {
  const events = [];
  const parser = new SseParser((e) => events.push(e));
  parser.push('data: {"job_id":"a","progress":{"stage":"queued"}}\r\n\r\ndata: {"job_id":');
  parser.push('"a",\ndata: "score":{"wav_path":"/x.wav"}}\n\n: a comment\n');
  parser.push('data: {"job_id":"a","error":{"code":"CANCELLED"}}');
  parser.end();
  assert.deepEqual(events, [
    { job_id: "a", progress: { stage: "queued" } },
    { job_id: "a", score: { wav_path: "/x.wav" } },
    { job_id: "a", error: { code: "CANCELLED" } },
  ]);
});

test("OTIO colours map to Premiere's marker colour indices", () => {
  assert.equal(colorIndex("GREEN"), 0);
  assert.equal(colorIndex("RED"), 1);
  assert.equal(colorIndex("ORANGE"), 3);
  assert.equal(colorIndex("yellow"), 4);
  assert.equal(colorIndex("BLUE"), 6);
  assert.equal(colorIndex("CYAN"), 7);
  assert.equal(colorIndex("NOT_A_COLOUR"), 6);
});

test("our tag is found in our comments only", () => {
  const comments = markerComments(
    { note: "valence +0.4", valence: 0.4123456789, arousal: -0.2, quadrant: "calm", start_s: 2 },
    { style: "lofi", seed: 4, jobId: "j1" },
  );
  assert.deepEqual(parseComments(comments), {
    arousal: -0.2, job_id: "j1", quadrant: "calm", seed: 4, start_s: 2, style: "lofi", valence: 0.412346,
  });
  assert.equal(parseComments("the editor's note"), null);
  assert.equal(parseComments("quoting scorebridge: inside a sentence"), null);
});

test("the plot maps -1..1 to the box height, 0 in the middle", () => {
  const { valence, arousal } = curvePoints({ valence: [-1, 0, 1], arousal: [0.5] }, 100, 40);
  assert.equal(valence, "0.0,40.0 50.0,20.0 100.0,0.0");
  assert.equal(arousal, "0.0,10.0");
});

test("manifest.json has what UXP requires for a Premiere panel", () => {
  const root = path.join(__dirname, "..");
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "manifest.json"), "utf-8"));
  assert.equal(manifest.manifestVersion, 5);
  for (const key of ["id", "name", "version", "main"]) {
    assert.equal(typeof manifest[key], "string", key);
    assert.ok(manifest[key].length > 0, key);
  }
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
  assert.ok(fs.existsSync(path.join(root, manifest.main)), "main points at a file");
  assert.deepEqual(manifest.host, { app: "premierepro", minVersion: "25.6" });
  const panels = manifest.entrypoints.filter((e) => e.type === "panel");
  assert.equal(panels.length, 1);
  assert.equal(typeof panels[0].id, "string");
  assert.equal(typeof panels[0].label.default, "string");
  assert.deepEqual(manifest.requiredPermissions.network.domains, ["http://127.0.0.1:50052"]);
  // the panel's code talks to that same origin by default
  const { DEFAULT_BASE_URL } = require("../src/bridge_http.js");
  assert.equal(DEFAULT_BASE_URL, manifest.requiredPermissions.network.domains[0]);
  // every script index.html loads exists
  const html = fs.readFileSync(path.join(root, manifest.main), "utf-8");
  for (const [, src] of html.matchAll(/<script src="([^"]+)"/g)) {
    assert.ok(fs.existsSync(path.join(root, src)), src);
  }
});
