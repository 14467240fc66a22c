"use strict";
// The panel's settings. The bridge token is a secret: UXP's secureStorage (encrypted under
// the user's account), never localStorage; a token an earlier version left in localStorage
// is moved over once. The bridge address is not secret and stays in localStorage.

const { DEFAULT_BASE_URL, TLS_BASE_URL } = require("./bridge_http.js");
const { Utf8Decoder } = require("./utf8.js");

const TOKEN_KEY = "scorebridge.token";
const URL_KEY = "scorebridge.bridgeUrl";
const BRIDGE_URLS = [DEFAULT_BASE_URL, TLS_BASE_URL]; // what manifest.json allows

// secure: require("uxp").storage.secureStorage (getItem resolves a Uint8Array);
// local: window.localStorage.
async function loadToken(secure, local) {
  let bytes = null;
  try {
    bytes = await secure.getItem(TOKEN_KEY);
  } catch (_) {
    bytes = null; // "rejected when ... not found", or the secure store was lost: ask again
  }
  const stored = bytes && bytes.length ? new Utf8Decoder().decode(bytes).trim() : "";
  if (stored) return stored;
  const legacy = local ? String(local.getItem(TOKEN_KEY) || "").trim() : "";
  if (legacy) {
    await saveToken(secure, legacy);
    local.removeItem(TOKEN_KEY);
  }
  return legacy;
}

async function saveToken(secure, token) {
  const value = String(token || "").trim();
  if (!value) throw new Error("an empty token cannot be saved");
  await secure.setItem(TOKEN_KEY, value);
  return value;
}

function loadBridgeUrl(local) {
  const url = local ? local.getItem(URL_KEY) : null;
  return BRIDGE_URLS.includes(url) ? url : DEFAULT_BASE_URL;
}

function saveBridgeUrl(local, url) {
  if (!BRIDGE_URLS.includes(url)) throw new Error(`the panel may only talk to ${BRIDGE_URLS.join(" or ")}`);
  local.setItem(URL_KEY, url);
}

module.exports = { BRIDGE_URLS, TOKEN_KEY, loadBridgeUrl, loadToken, saveBridgeUrl, saveToken };
