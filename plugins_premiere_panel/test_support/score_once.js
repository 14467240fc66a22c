"use strict";
// Runs the panel's scorer once against a running bridge with the fake host, and prints
// what it did as JSON. The Python cross-host test uses it to compare with Resolve:
//   node score_once.js '{"baseUrl":…,"token":…,"otio":…,"xml":…,"temp":…,"seed":3,"style":…}'

const { createBridge } = require("../src/bridge_http.js");
const { scoreActiveSequence } = require("../src/scorer.js");
const { createFakePremiere } = require("./fake_premierepro.js");

async function main() {
  const args = JSON.parse(process.argv[2]);
  const host = createFakePremiere({ otioFile: args.otio, xmlFile: args.xml });
  const bridge = createBridge({ baseUrl: args.baseUrl, token: args.token });
  const summary = await scoreActiveSequence({
    ppro: host.module,
    bridge,
    tempFolder: args.temp,
    options: { mode: "score", seed: args.seed, style: args.style, markers: args.markers },
  });
  const markers = host.sequence.markers.list.map((m) => ({
    name: m.name,
    start_s: m.start.seconds,
    duration_s: m.duration.seconds,
    comments: m.comments,
    colorIndex: m.colorIndex,
  }));
  process.stdout.write(JSON.stringify({ wav_path: summary.result.wav_path, markers }));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
