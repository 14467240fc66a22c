"use strict";
// The pure parts of the panel: SSE parsing, colours, the comment tag, the plot, the manifest.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");

const { BridgeError, SseParser, createBridge } = require("../src/bridge_http.js");
const { Utf8Decoder } = require("../src/utf8.js");
const { mediaFolderFor } = require("../src/scorer.js");
const { withoutTextDecoder } = require("../test_support/fake_premierepro.js");
const { colorIndex, markerComments, parseComments } = require("../src/markers.js");
const { curvePoints, cutPositions, metricLines } = require("../src/plot.js");
const settings = require("../src/settings.js");

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
  // numbers the host gives in Constants.MarkerColor win (names as the reference spells them)
  const host = { GREEN: 10, RED: 11, MAGNETA: 12, ORANGE: 13, YELLOW: 14, BLUE: 15, CYAN: 16 };
  assert.deepEqual(["GREEN", "PINK", "MAGENTA", "PURPLE", "BLUE", "WHITE"].map((c) => colorIndex(c, host)), [10, 11, 12, 12, 15, 5]);
  assert.equal(colorIndex("BLUE", { BLUE: "Blue" }), 6, "non-numeric constants: the table");
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
  // 25.6: every call the panel makes unconditionally is documented "Since 25.6"; the export
  // (26.2) and track names (26.3) are feature-detected (see panel.test.js, "Premiere 25.6")
  assert.deepEqual(manifest.host, { app: "premierepro", minVersion: "25.6" });
  const panels = manifest.entrypoints.filter((e) => e.type === "panel");
  assert.equal(panels.length, 1);
  assert.equal(typeof panels[0].id, "string");
  assert.equal(typeof panels[0].label.default, "string");
  // plain http by default; https for where the host blocks http:// (macOS)
  const { DEFAULT_BASE_URL, TLS_BASE_URL } = require("../src/bridge_http.js");
  assert.deepEqual(manifest.requiredPermissions.network.domains, [DEFAULT_BASE_URL, TLS_BASE_URL]);
  // every script index.html loads exists
  const html = fs.readFileSync(path.join(root, manifest.main), "utf-8");
  for (const [, src] of html.matchAll(/<script src="([^"]+)"/g)) {
    assert.ok(fs.existsSync(path.join(root, src)), src);
  }
});

test("UTF-8 without TextDecoder: characters split across chunks, bad bytes", () => {
  const text = "é ✓ 🎬 ok";
  const bytes = Buffer.from(text, "utf-8");
  for (let cut = 0; cut <= bytes.length; cut += 1) {
    const decoder = new Utf8Decoder();
    const got = decoder.decode(bytes.subarray(0, cut), { stream: true }) + decoder.decode(bytes.subarray(cut));
    assert.equal(got, text, `cut at byte ${cut}`);
  }
  assert.equal(new Utf8Decoder().decode([0x61, 0xff, 0x62]), "a\ufffdb");
  assert.equal(new Utf8Decoder().decode([0xc3]), "\ufffd"); // cut off at the end
  assert.equal(new Utf8Decoder().decode([0xe0, 0x80, 0x80]), "\ufffd\ufffd\ufffd"); // overlong
});

test("SSE over a UXP-like stream: no TextDecoder, a name split mid-character", async () => {
  const restore = withoutTextDecoder();
  try {
    const event = (o) => `data: ${JSON.stringify(o)}\n\n`;
    const body = Buffer.from(
      event({ job_id: "j", progress: { stage: "render", fraction: 0.5, message: "Café scène" } }) +
        event({ job_id: "j", score: { wav_path: "/tmp/Café/score.wav" } }),
      "utf-8",
    );
    const split = body.indexOf(0xa9) ; // inside the first "é"
    const chunks = [body.subarray(0, split), body.subarray(split, split + 7), body.subarray(split + 7)];
    const fakeFetch = async () => ({
      ok: true,
      status: 200,
      body: { getReader: () => ({ read: async () => (chunks.length ? { done: false, value: new Uint8Array(chunks.shift()) } : { done: true }) }) },
    });
    const bridge = createBridge({ token: "t", fetchImpl: fakeFetch });
    const seen = [];
    const result = await bridge.stream("ScoreTimeline", {}, (e) => seen.push(e));
    assert.equal(seen[0].progress.message, "Café scène");
    assert.deepEqual(result, { job_id: "j", wav_path: "/tmp/Café/score.wav" });
  } finally {
    restore();
  }
});

test("a request the host refuses is not reported as a missing bridge", async () => {
  const refuse = (message) => async () => {
    throw new TypeError(message);
  };
  const blocked = createBridge({ token: "t", fetchImpl: refuse("Permission denied: http://127.0.0.1:50052 is not in the manifest") });
  const err = await blocked.health().catch((e) => e);
  assert.ok(err instanceof BridgeError);
  assert.equal(err.kind, "blocked");
  assert.match(err.message, /^Premiere blocked the request to http:\/\/127\.0\.0\.1:50052 .*https:\/\/127\.0\.0\.1:50052/);
  const down = createBridge({ token: "t", fetchImpl: refuse("Network request failed") });
  const err2 = await down.health().catch((e) => e);
  assert.equal(err2.kind, "unreachable");
  assert.match(err2.message, /not running at http:\/\/127\.0\.0\.1:50052 \(Network request failed\)/);
});

test("the score's folder sits beside the project file, in the path's own style", () => {
  assert.equal(mediaFolderFor("/Users/ed/Film/cut.prproj", "Reel 1: final?", 7), "/Users/ed/Film/Scorebridge Media/Reel 1_ final_-7");
  assert.equal(mediaFolderFor("C:\\Film\\cut.prproj", "A", 7), "C:\\Film\\Scorebridge Media\\A-7");
  assert.equal(mediaFolderFor("cut.prproj", "A", 7), "");
});

test("cuts sit on the curve's time axis; metrics shown in a fixed order", () => {
  const affect = { hop_s: 1, valence: [0, 0, 0, 0, 0], arousal: [] }; // 0..4 s
  assert.deepEqual(cutPositions([{ time_s: 0 }, { time_s: 1 }, { time_s: 3 }, { time_s: 9 }], affect, 200), [50, 150]);
  assert.deepEqual(cutPositions([{ time_s: 1 }], { hop_s: 1, valence: [0] }, 200), []);
  assert.deepEqual(metricLines({ true_peak_dbtp: -1.04, integrated_lufs: -16.01, cut_beat_hit_rate_50ms: 0.834 }), [
    ["Cuts on a beat (±50 ms)", "83 %"], ["Loudness", "-16.0 LUFS"], ["True peak", "-1.0 dBTP"],
  ]);
  assert.deepEqual(metricLines(undefined), []);
});

test("the token lives in secureStorage; one left in localStorage is moved there", async () => {
  // UXP's secureStorage: setItem(key, string) stores encrypted, getItem resolves a Uint8Array
  // and rejects for a key it does not have
  const vault = new Map();
  const secure = {
    setItem: async (k, v) => vault.set(k, new Uint8Array(Buffer.from(v, "utf-8"))),
    getItem: async (k) => {
      if (!vault.has(k)) throw new Error("not found");
      return vault.get(k);
    },
  };
  const local = new Map([["scorebridge.token", " old-tøken \n"]]);
  const localStorage = { getItem: (k) => local.get(k) ?? null, setItem: (k, v) => local.set(k, v), removeItem: (k) => local.delete(k) };
  assert.equal(await settings.loadToken(secure, localStorage), "old-tøken");
  assert.equal(local.has("scorebridge.token"), false, "no secret left in localStorage");
  assert.equal(await settings.loadToken(secure, localStorage), "old-tøken");
  await settings.saveToken(secure, "new\n");
  assert.equal(await settings.loadToken(secure, localStorage), "new");
  await assert.rejects(settings.saveToken(secure, "  "), /empty token/);
  assert.equal(settings.loadBridgeUrl(localStorage), "http://127.0.0.1:50052");
  settings.saveBridgeUrl(localStorage, "https://127.0.0.1:50052");
  assert.equal(settings.loadBridgeUrl(localStorage), "https://127.0.0.1:50052");
  assert.throws(() => settings.saveBridgeUrl(localStorage, "http://example.com"), /may only talk to/);
});

test("the panel uses UXP's Spectrum widgets, and main.js finds every element it needs", () => {
  const root = path.join(__dirname, "..");
  const html = fs.readFileSync(path.join(root, "index.html"), "utf-8");
  const main = fs.readFileSync(path.join(root, "src", "main.js"), "utf-8");
  // no plain controls where UXP has a Spectrum widget
  assert.equal(/<(select|button|progress|input)\b/.test(html), false);
  const widgets = new Set([...html.matchAll(/<(sp-[a-z-]+)/g)].map((m) => m[1]));
  const uxpWidgets = ["sp-action-button", "sp-body", "sp-button", "sp-checkbox", "sp-detail", "sp-divider", "sp-dropdown",
    "sp-heading", "sp-label", "sp-menu", "sp-menu-item", "sp-progressbar", "sp-textfield"]; // Adobe's UXP widget list
  for (const w of widgets) assert.ok(uxpWidgets.includes(w), `${w} is not a UXP Spectrum widget`);
  const ids = new Set([...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]));
  for (const [, id] of main.matchAll(/\$\("([^"]+)"\)/g)) assert.ok(ids.has(id), `index.html has no #${id}`);
  // each dropdown has exactly the items main.js maps its selectedIndex to
  const items = (id) => html.split(`id="${id}"`)[1].split("</sp-dropdown>")[0].match(/<sp-menu-item/g).length;
  const listed = (name) => main.match(new RegExp(`const ${name} = \\[([^\\]]*)\\]`))[1].split(",").filter((x) => x.trim()).length;
  assert.equal(items("style"), listed("STYLES"));
  assert.equal(items("density"), listed("DENSITIES"));
  assert.equal(items("bridgeUrl"), settings.BRIDGE_URLS.length);
});
