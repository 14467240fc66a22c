"use strict";
// Shared by the panel tests: the fixture cut and a real bridge on free loopback ports.

const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "..", "..");
// $SCOREBRIDGE_PYTHON: a Python with the bridge installed, where .venv is elsewhere.
const PYTHON = process.env.SCOREBRIDGE_PYTHON || path.join(REPO, ".venv", "bin", "python");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function buildFixture(folder) {
  const script = path.join(REPO, "plugins_premiere_panel", "test_support", "fixture_timeline.py");
  return JSON.parse(execFileSync(PYTHON, [script, folder], { cwd: REPO, encoding: "utf-8" }));
}

// Starts `python -m bridge serve` with its own config folder (and so its own token);
// resolves when GET /v1/health says SERVING.
async function startBridge(tmp) {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const configDir = path.join(tmp, "config");
  const child = spawn(
    PYTHON,
    ["-m", "bridge", "serve", "--port", String(grpcPort), "--http-port", String(httpPort),
      "--jobs-dir", path.join(tmp, "jobs")],
    { cwd: REPO, env: { ...process.env, SCOREBRIDGE_CONFIG_DIR: configDir }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bridge exited: ${stderr}`);
    try {
      const reply = await fetch(`${baseUrl}/v1/health`);
      if ((await reply.json()).status === "SERVING") break;
    } catch (_) {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`bridge did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const token = fs.readFileSync(path.join(configDir, "token"), "utf-8").trim();
  return {
    baseUrl,
    token,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", resolve);
        child.kill("SIGTERM");
      }),
  };
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

module.exports = { REPO, buildFixture, freePort, startBridge, tempDir };
