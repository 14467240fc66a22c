"use strict";
// The bridge's HTTP/JSON gateway, as the panel uses it: UXP has fetch but no gRPC.
//
// POST /v1/<Method> with the proto's JSON mapping; the streaming methods (ScoreTimeline,
// AnalyzeTimeline) answer Server-Sent Events, one JobEvent JSON per `data:` line.
// Every POST carries `Authorization: Bearer <token>`; GET /v1/health needs no token.
//
// Written for UXP's fetch: no TextDecoder there (the SSE bytes are decoded by utf8.js),
// and its init takes method/headers/body/credentials only (no AbortSignal: a job is
// stopped with CancelJob).

const { Utf8Decoder } = require("./utf8.js");

const DEFAULT_BASE_URL = "http://127.0.0.1:50052"; // the origins listed in manifest.json
const TLS_BASE_URL = "https://127.0.0.1:50052";

// How UXP words a request it refused itself (manifest permission, or http:// on macOS),
// as opposed to nobody listening. Adobe documents that both happen, not the wording, so
// the panel names both possibilities when it cannot tell.
const HOST_BLOCK = /permission|not allowed|disallow|denied|blocked|insecure|domains|manifest/i;

class BridgeError extends Error {
  // kind: "unreachable" (no bridge), "blocked" (Premiere refused to send the request),
  // "unauthorized" (401: wrong token), "remote" (the bridge refused the request or the
  // job failed; code is the gRPC status name).
  constructor(kind, message, code = "") {
    super(message);
    this.name = "BridgeError";
    this.kind = kind;
    this.code = code;
  }
}

// Splits an SSE byte stream into JobEvent objects. Fed text chunks as they arrive.
class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.data = [];
  }

  push(text) {
    this.buffer += text;
    let newline;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, "");
      this.buffer = this.buffer.slice(newline + 1);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      this.flush();
    } else if (line.startsWith("data:")) {
      this.data.push(line.slice(5).replace(/^ /, ""));
    } // other SSE fields (event:, id:, comments) are not used by the bridge
  }

  flush() {
    if (this.data.length) {
      const text = this.data.join("\n");
      this.data = [];
      this.onEvent(JSON.parse(text));
    }
  }

  end() {
    if (this.buffer) this.line(this.buffer.replace(/\r$/, ""));
    this.buffer = "";
    this.flush();
  }
}

function unreachable(base, err) {
  const why = String((err && err.message) || err || "");
  if (HOST_BLOCK.test(why)) {
    const tls = base.startsWith("http:")
      ? ` On macOS Premiere may refuse plain http://: start the bridge with TLS and set the ` +
        `panel's bridge address to ${base.replace(/^http:/, "https:")} (Settings).`
      : "";
    return new BridgeError(
      "blocked",
      `Premiere blocked the request to ${base} (${why}).${tls} Nothing was changed in the sequence.`,
    );
  }
  return new BridgeError(
    "unreachable",
    `The Scorebridge bridge is not running at ${base} (${why || "no answer"}). Start it with ` +
      "`scorebridge serve`, then try again. Nothing was changed in the sequence.",
  );
}

function createBridge({ baseUrl = DEFAULT_BASE_URL, token, fetchImpl }) {
  const doFetch = fetchImpl || globalThis.fetch;
  const base = baseUrl.replace(/\/+$/, "");

  async function request(path, init) {
    try {
      return await doFetch(base + path, init);
    } catch (err) {
      throw unreachable(base, (err && err.cause) || err);
    }
  }

  async function failure(response) {
    let detail = {};
    try {
      detail = await response.json();
    } catch (_) {
      // not JSON: keep the status line only
    }
    if (response.status === 401) {
      return new BridgeError(
        "unauthorized",
        "Wrong token: the bridge refused this panel's token (401). Paste the token from " +
          "the bridge's token file (~/.config/scorebridge/token) into Settings.",
        "UNAUTHENTICATED",
      );
    }
    const code = detail.code || `HTTP_${response.status}`;
    return new BridgeError("remote", detail.message || response.statusText || code, code);
  }

  function post(method, body) {
    return request(`/v1/${method}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  return {
    baseUrl: base,

    async health() {
      const response = await request("/v1/health", { method: "GET" });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || body.status !== "SERVING") {
        throw new BridgeError("unreachable", `The bridge at ${base} is not ready (${body.status || response.status}).`);
      }
      return body.status;
    },

    async call(method, body) {
      const response = await post(method, body);
      if (!response.ok) throw await failure(response);
      return response.json();
    },

    cancelJob(jobId) {
      return this.call("CancelJob", { job_id: jobId });
    },

    listBackends() {
      return this.call("ListBackends", {});
    },

    // Follows a streaming method; calls onEvent for every JobEvent; resolves with the
    // final `score`/`analysis` object plus job_id, rejects with a BridgeError.
    async stream(method, body, onEvent) {
      const response = await post(method, body);
      if (!response.ok) throw await failure(response);
      let result = null;
      let error = null;
      const parser = new SseParser((event) => {
        onEvent(event);
        if (event.error) error = event.error;
        else if (event.score || event.analysis) result = { job_id: event.job_id, ...(event.score || event.analysis) };
      });
      const reader = response.body && response.body.getReader ? response.body.getReader() : null;
      if (reader) {
        const decoder = new Utf8Decoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(decoder.decode(value, { stream: true }));
        }
        parser.push(decoder.decode(new Uint8Array(0)));
      } else {
        // A fetch without streamed bodies: the events arrive all at once at the end.
        parser.push(await response.text());
      }
      parser.end();
      if (error) throw new BridgeError("remote", error.message || error.code, error.code);
      if (!result) throw new BridgeError("remote", `${method}: the bridge ended without a result`);
      return result;
    },
  };
}

module.exports = { BridgeError, DEFAULT_BASE_URL, TLS_BASE_URL, SseParser, createBridge };
