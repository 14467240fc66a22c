"use strict";
// The panel's logic against a real bridge (spawned here on free loopback ports, real HTTP
// gateway, real fixture cut); only Premiere's `premierepro` module is a fake, and this
// process looks like UXP where it matters: no TextDecoder, UXP's fetch options.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");

const { BridgeError, createBridge } = require("../src/bridge_http.js");
const { colorIndex, parseComments } = require("../src/markers.js");
const { NEEDS_EXPORT, describeError, scoreActiveSequence } = require("../src/scorer.js");
const { EDIT_CALLS, createFakePremiere, uxpFetch, withoutTextDecoder } = require("../test_support/fake_premierepro.js");
const { buildFixture, freePort, startBridge, tempDir } = require("../test_support/bridge_harness.js");

withoutTextDecoder(); // as in UXP, for the whole file: the panel must not need it

const EDITOR_MARKER = { name: "editor's note", comments: "check the grade here", start: { seconds: 1.25 }, duration: { seconds: 0 } };

describe("Premiere panel with a real bridge", { timeout: 300_000 }, () => {
  let tmp;
  let cut;
  let bridgeProcess;
  const seenRequests = [];

  // The real fetch, watched: which methods were called with which Authorization header.
  const watchedFetch = uxpFetch((url, init = {}) => {
    seenRequests.push({ url, method: init.method, auth: (init.headers || {}).Authorization, body: init.body });
    return fetch(url, init);
  });

  before(async () => {
    tmp = tempDir("scorebridge-panel-");
    cut = buildFixture(path.join(tmp, "cut"));
    bridgeProcess = await startBridge(tmp);
  });

  after(async () => {
    if (bridgeProcess) await bridgeProcess.stop();
  });

  function fakeHost(options = {}) {
    const projectPath = path.join(tempDir("scorebridge-project-"), "Fixture project.prproj");
    return createFakePremiere({ otioFile: cut.otio, xmlFile: cut.xml, editorMarkers: [EDITOR_MARKER], projectPath, ...options });
  }
  const ORIGINAL_CUT = fakeHostCut();
  function fakeHostCut() {
    return createFakePremiere({ otioFile: "", xmlFile: "" }).editorCut();
  }
  const onFrame = (s) => Math.round(s * 24) / 24;

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
      assert.equal(marker.start.seconds, onFrame(want.start_s), "snapped to the 24 fps frame grid");
      assert.equal(marker.duration.seconds, onFrame(want.duration_s));
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

  test("Score: exports, places the WAV on its own track without moving the cut, adds markers", async () => {
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
    const sent = JSON.parse(scoreCall.body);
    assert.deepEqual(sent.path, exportArgs[1]);
    // the music goes beside the project file, so the project can move with its media
    const projectDir = path.dirname(host.project.path);
    assert.ok(sent.options.output_dir.startsWith(path.join(projectDir, "Scorebridge Media", "fixture cut-")));
    assert.deepEqual({ ...sent.options, output_dir: undefined }, { seed: 3, markers: "every:2", output_dir: undefined });
    assert.ok(progress.some(([stage]) => stage === "render"), "SSE progress reaches the UI without TextDecoder");

    const wav = summary.result.wav_path;
    assert.ok(wav.startsWith(sent.options.output_dir) && fs.existsSync(wav));
    const [importArgs] = called(host, "importFiles");
    assert.deepEqual(importArgs[0], [wav]);
    assert.equal(importArgs[1], true);
    assert.equal(importArgs[2].name, "Scorebridge");
    assert.equal(importArgs[3], false);

    // insert on a new track (index past the last) with limitShift = true, nothing moved
    const [insert] = called(host, "createInsertProjectItemAction");
    assert.equal(await insert[0].getMediaFilePath(), wav);
    assert.equal(insert[1].seconds, 0);
    assert.deepEqual(insert.slice(2), [0, 1, true]);
    assert.deepEqual(host.editorCut(), ORIGINAL_CUT, "no clip of the editor's cut moved");
    assert.equal(host.sequence.audioTracks.length, 2);
    assert.equal(host.sequence.audioTracks[1].name, "Score"); // 26.3 names tracks
    assert.equal(host.sequence.audioTracks[1].items[0].name, "Score");
    assert.equal(summary.trackName, "Score");

    // every change went through lockedAccess + executeTransaction (the fake enforces it)
    assert.deepEqual(
      host.state.transactions.map((t) => t.label),
      ["Scorebridge: add bin", "Scorebridge: name Score", "Scorebridge: Score", "Scorebridge: name track Score",
        "Scorebridge: affect markers", "Scorebridge: marker colours"],
    );
    checkMarkers(host, summary.analysis, { seed: 3 });
  });

  test("the fake ripples like Premiere: limitShift=false would have moved the cut", async () => {
    // Guards the test above: if the panel passed false, the comparison there would fail.
    const host = fakeHost();
    const ppro = host.module;
    const item = { item: { name: "x", seconds: 3 } };
    host.project.lockedAccess(() => host.project.executeTransaction((ca) =>
      ca.addAction(ppro.SequenceEditor.getEditor(host.sequence)
        .createInsertProjectItemAction(item, ppro.TickTime.createWithSeconds(1), 0, 1, false)), "ripple"));
    assert.notDeepEqual(host.editorCut(), ORIGINAL_CUT);
    assert.ok(host.editorCut().includes(`Video 1/red@${5 * host.TICKS_PER_SECOND}`));
  });

  test("a host that shifts the cut anyway: clips are moved back and the editor is told", async () => {
    const host = fakeHost({ rippleDespiteLimitShift: true });
    const lines = [];
    const summary = await scoreActiveSequence({
      ppro: host.module, bridge: bridgeWith(), tempFolder: tmp, options: { seed: 3, markers: "every:2" },
      ui: { status: (text) => lines.push(text) },
    });
    assert.deepEqual(host.editorCut(), ORIGINAL_CUT);
    assert.ok(lines.some((l) => /^Premiere moved 5 clip\(s\) of the cut .*moving them back/.test(l)), lines.join("\n"));
    assert.ok(host.state.transactions.some((t) => t.label === "Scorebridge: put the cut back"));
    checkMarkers(host, summary.analysis, { seed: 3 });
  });

  test("Re-score: the next version on its own track, the earlier one muted, never deleted", async () => {
    const host = fakeHost();
    const bridge = bridgeWith();
    const first = await scoreActiveSequence({
      ppro: host.module, bridge, tempFolder: tmp, options: { seed: 5, style: "solo-piano", markers: "every:2" },
    });
    seenRequests.length = 0;
    const lines = [];
    const second = await scoreActiveSequence({
      ppro: host.module, bridge, tempFolder: tmp, options: { mode: "rescore", markers: "every:2" },
      ui: { status: (text) => lines.push(text) },
    });
    // the previous result is offered to the bridge; this bridge does not know the field
    // yet, refuses it by name, and the panel scores again with the same style and seed
    const scoreCalls = seenRequests.filter((r) => r.url.endsWith("/v1/ScoreTimeline")).map((r) => JSON.parse(r.body).options);
    assert.equal(scoreCalls[0].previous_result, first.result.wav_path);
    assert.equal(scoreCalls[0].output_dir, path.dirname(first.result.wav_path));
    if (scoreCalls.length === 2) {
      assert.equal(second.continuity, false);
      assert.equal(scoreCalls[1].previous_result, undefined);
      assert.notEqual(scoreCalls[1].output_dir, path.dirname(first.result.wav_path));
      assert.ok(lines.some((l) => l.includes("cannot keep the earlier music yet")));
    } else {
      assert.equal(second.continuity, true);
    }
    assert.equal(second.style, "solo-piano");
    assert.equal(second.seed, 5);
    assert.ok(fs.existsSync(first.result.wav_path), "the first version is still there");
    const tracks = host.sequence.audioTracks;
    assert.deepEqual(tracks.map((t) => [t.name, t.muted, t.items.length]),
      [["Audio 1", false, 2], ["Score", true, 1], ["Score v2", false, 1]]);
    assert.deepEqual(host.editorCut(), ORIGINAL_CUT);
    checkMarkers(host, second.analysis, { seed: 5 });
  });

  test("an editor's own track called Score is neither muted nor counted as a version", async () => {
    const host = fakeHost();
    host.sequence.audioTracks[0].name = "Score"; // the editor's temp music track
    const summary = await scoreActiveSequence({
      ppro: host.module, bridge: bridgeWith(), tempFolder: tmp, options: { seed: 1, markers: "every:2" },
    });
    assert.equal(summary.trackName, "Score");
    assert.deepEqual(host.sequence.audioTracks.map((t) => [t.name, t.muted]), [["Score", false], ["Score", false]]);
    assert.equal(called(host, "setMute").length, 0);
  });

  test("Premiere 25.6: no export from the panel, a plain message, then the manual XML route", async () => {
    const host = fakeHost({ version: "25.6" });
    const err = await scoreActiveSequence({ ppro: host.module, bridge: bridgeWith(), tempFolder: tmp }).then(
      () => assert.fail("should have stopped"),
      (e) => e,
    );
    assert.equal(describeError(err), `Scorebridge: ${NEEDS_EXPORT}`);
    assert.deepEqual(host.calls.filter((c) => EDIT_CALLS.has(c.method)), []);

    // File > Export > Final Cut Pro XML by hand, then "Score an exported XML"
    const run = () => scoreActiveSequence({
      ppro: host.module, bridge: bridgeWith(), tempFolder: tmp, options: { seed: 2, markers: "every:2", timelinePath: cut.xml },
    });
    const summary = await run();
    assert.equal(summary.analysis.timeline_path, cut.xml);
    // no AudioTrack.createSetNameAction before 26.3: the clip carries the version name
    assert.equal(called(host, "createSetNameAction").length, 1);
    assert.deepEqual(host.sequence.audioTracks.map((t) => t.name), ["Audio 1", "Audio 2"]);
    assert.equal(host.sequence.audioTracks[1].items[0].name, "Score");
    await run(); // and the next version is still recognised by its clip
    assert.deepEqual(host.sequence.audioTracks.map((t) => [t.items[0].name, t.muted]),
      [["dialogue", false], ["Score", true], ["Score v2", false]]);
    assert.deepEqual(host.editorCut(), ORIGINAL_CUT);
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

  test("falls back to FCP XML export when the OTIO export fails", async () => {
    const host = fakeHost({ version: "26.2" });
    host.module.ProjectConverter.exportAsOpenTimelineIO = () => Promise.resolve(false);
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
    assert.equal(err.kind, "unreachable");
    assert.match(describeError(err), /bridge is not running .*ECONNREFUSED.*Nothing was changed/);
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
