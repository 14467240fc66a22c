"use strict";
// The panel's logic against a real bridge (spawned here on free loopback ports, real HTTP
// gateway, real fixture cut); only Premiere's `premierepro` module is a fake.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");

const { BridgeError, createBridge } = require("../src/bridge_http.js");
const { colorIndex, parseComments } = require("../src/markers.js");
const { describeError, scoreActiveSequence } = require("../src/scorer.js");
const { EDIT_CALLS, createFakePremiere } = require("../test_support/fake_premierepro.js");
const { buildFixture, freePort, startBridge, tempDir } = require("../test_support/bridge_harness.js");

const EDITOR_MARKER = { name: "editor's note", comments: "check the grade here", start: { seconds: 1.25 }, duration: { seconds: 0 } };

describe("Premiere panel with a real bridge", { timeout: 300_000 }, () => {
  let tmp;
  let cut;
  let bridgeProcess;
  const seenRequests = [];

  // The real fetch, watched: which methods were called with which Authorization header.
  const watchedFetch = (url, init = {}) => {
    seenRequests.push({ url, method: init.method, auth: (init.headers || {}).Authorization, body: init.body });
    return fetch(url, init);
  };

  before(async () => {
    tmp = tempDir("scorebridge-panel-");
    cut = buildFixture(path.join(tmp, "cut"));
    bridgeProcess = await startBridge(tmp);
  });

  after(async () => {
    if (bridgeProcess) await bridgeProcess.stop();
  });

  function fakeHost(options = {}) {
    return createFakePremiere({ otioFile: cut.otio, xmlFile: cut.xml, editorMarkers: [EDITOR_MARKER], ...options });
  }

  function bridgeWith(token = bridgeProcess.token, baseUrl = bridgeProcess.baseUrl) {
    return createBridge({ baseUrl, token, fetchImpl: watchedFetch });
  }

  const called = (host, method) => host.calls.filter((c) => c.method === method).map((c) => c.args);
  const ours = (host) => host.sequence.markers.list.filter((m) => parseComments(m.comments) !== null);

  function checkMarkers(host, analysis, { seed }) {
    const wanted = analysis.markers;
    assert.ok(wanted.length >= 2, "the fixture gives several markers");
    const got = ours(host).sort((a, b) => a.start.seconds - b.start.seconds);
    assert.equal(got.length, wanted.length);
    got.forEach((marker, i) => {
      const want = wanted[i];
      assert.equal(marker.type, "Comment");
      assert.equal(marker.name, want.name);
      assert.equal(marker.start.seconds, want.start_s);
      assert.equal(marker.duration.seconds, want.duration_s);
      assert.equal(marker.colorIndex, colorIndex(want.color));
      const data = parseComments(marker.comments);
      assert.equal(data.valence, Math.round(want.valence * 1e6) / 1e6);
      assert.equal(data.arousal, Math.round(want.arousal * 1e6) / 1e6);
      assert.equal(data.seed, seed);
      assert.equal(data.style, analysis.style.name);
    });
    const editor = host.sequence.markers.list.filter((m) => m.name === "editor's note");
    assert.equal(editor.length, 1, "the editor's marker is never touched");
    assert.equal(editor[0].comments, "check the grade here");
  }

  test("Score: exports, imports the WAV on a new audio track, adds coloured markers", async () => {
    const host = fakeHost();
    const progress = [];
    seenRequests.length = 0;
    const summary = await scoreActiveSequence({
      ppro: host.module,
      bridge: bridgeWith(),
      tempFolder: tmp,
      options: { seed: 3, markers: "every:2" },
      ui: { progress: (stage, fraction) => progress.push([stage, fraction]) },
    });

    const [exportArgs] = called(host, "exportAsOpenTimelineIO");
    assert.equal(exportArgs[0], host.sequence);
    assert.match(exportArgs[1], /\.otio$/);
    assert.equal(exportArgs[2], true);

    const scoreCall = seenRequests.find((r) => r.url.endsWith("/v1/ScoreTimeline"));
    assert.equal(scoreCall.auth, `Bearer ${bridgeProcess.token}`);
    assert.deepEqual(JSON.parse(scoreCall.body), { path: exportArgs[1], options: { seed: 3, markers: "every:2" } });
    assert.ok(progress.some(([stage]) => stage === "render"), "SSE progress reaches the UI");

    const wav = summary.result.wav_path;
    assert.ok(fs.existsSync(wav));
    const [importArgs] = called(host, "importFiles");
    assert.deepEqual(importArgs[0], [wav]);
    assert.equal(importArgs[1], true);
    assert.equal(importArgs[2].name, "Scorebridge");
    assert.equal(importArgs[3], false);

    const [insert] = called(host, "createInsertProjectItemAction");
    assert.equal(await insert[0].getMediaFilePath(), wav);
    assert.equal(insert[1].seconds, 0);
    assert.deepEqual(insert.slice(2), [0, 1, false]); // audio index 1 = past A1: a new track
    assert.equal(host.sequence.audioTracks.length, 2);
    assert.equal(host.sequence.audioTracks[1][0].name, "score.wav");

    // every change went through lockedAccess + executeTransaction (the fake enforces it)
    assert.deepEqual(
      host.state.transactions.map((t) => t.label),
      ["Scorebridge: add bin", "Scorebridge: score", "Scorebridge: marker colours"],
    );
    checkMarkers(host, summary.analysis, { seed: 3 });
  });

  test("Re-score removes only its own earlier markers", async () => {
    const host = fakeHost();
    const bridge = bridgeWith();
    const run = (seed) =>
      scoreActiveSequence({ ppro: host.module, bridge, tempFolder: tmp, options: { mode: "markers", seed, markers: "every:2" } });
    await run(1);
    const first = ours(host);
    const second = await run(2);
    const removed = called(host, "createRemoveMarkerAction").map(([m]) => m);
    assert.deepEqual(new Set(removed), new Set(first));
    assert.ok(!removed.some((m) => m.name === "editor's note"));
    checkMarkers(host, second.analysis, { seed: 2 });
    assert.equal(called(host, "importFiles").length, 0, "markers only: no music imported");
    assert.equal(called(host, "createInsertProjectItemAction").length, 0);
  });

  test("falls back to FCP XML export when OTIO export is missing", async () => {
    const host = fakeHost({ withOtioExport: false });
    const summary = await scoreActiveSequence({
      ppro: host.module, bridge: bridgeWith(), tempFolder: tmp, options: { mode: "markers", markers: "every:2" },
    });
    const [args] = called(host, "exportAsFinalCutProXML");
    assert.match(args[1], /\.xml$/);
    checkMarkers(host, summary.analysis, { seed: 0 });
  });

  test("a wrong token is shown to the user as such, and nothing changes", async () => {
    const host = fakeHost();
    const err = await scoreActiveSequence({ ppro: host.module, bridge: bridgeWith("not-the-token"), tempFolder: tmp }).then(
      () => assert.fail("should have been refused"),
      (e) => e,
    );
    assert.ok(err instanceof BridgeError);
    assert.equal(err.kind, "unauthorized");
    assert.match(describeError(err), /^Wrong token/);
    assert.deepEqual(host.calls.filter((c) => EDIT_CALLS.has(c.method)), []);
  });

  test("no bridge: a clear message and no edits", async () => {
    const host = fakeHost();
    const closed = `http://127.0.0.1:${await freePort()}`;
    const err = await scoreActiveSequence({ ppro: host.module, bridge: bridgeWith("x", closed), tempFolder: tmp }).then(
      () => assert.fail("should have failed"),
      (e) => e,
    );
    assert.match(describeError(err), /bridge is not running .*Nothing was changed/);
    assert.deepEqual(host.calls.filter((c) => EDIT_CALLS.has(c.method)), []);
    assert.equal(called(host, "exportAsOpenTimelineIO").length, 0);
  });

  test("Cancel sends CancelJob and leaves the sequence alone", async () => {
    const host = fakeHost();
    const bridge = bridgeWith();
    seenRequests.length = 0;
    let cancelled = null;
    const err = await scoreActiveSequence({
      ppro: host.module,
      bridge,
      tempFolder: tmp,
      options: { seed: 9 },
      ui: { jobStarted: (jobId) => (cancelled = bridge.cancelJob(jobId)) },
    }).then(
      () => assert.fail("should have been cancelled"),
      (e) => e,
    );
    const reply = await cancelled;
    assert.equal(err.code, "CANCELLED");
    assert.match(describeError(err), /^Cancelled/);
    const cancelCall = seenRequests.find((r) => r.url.endsWith("/v1/CancelJob"));
    assert.equal(cancelCall.auth, `Bearer ${bridgeProcess.token}`);
    assert.equal(JSON.parse(cancelCall.body).job_id, reply.job_id);
    assert.deepEqual(host.calls.filter((c) => EDIT_CALLS.has(c.method)), []);
  });
});
