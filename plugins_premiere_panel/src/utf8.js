"use strict";
// UTF-8 bytes -> text, fed chunk by chunk: UXP has no TextDecoder, and a network chunk can
// end in the middle of a character (an "é" in a clip name split across two reads).

class Utf8Decoder {
  constructor() {
    this.pending = []; // the first bytes of a character whose rest has not arrived yet
  }

  // bytes: a Uint8Array (or array of byte values). Returns the text of every complete
  // character; keeps an incomplete last character for the next call. Malformed bytes
  // become U+FFFD, as TextDecoder does by default.
  decode(bytes, { stream = false } = {}) {
    const data = this.pending.concat(Array.from(bytes || []));
    this.pending = [];
    let out = "";
    let i = 0;
    while (i < data.length) {
      const b = data[i];
      const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
      if (need < 0) {
        out += "\ufffd";
        i += 1;
        continue;
      }
      if (i + need >= data.length && need > 0 && data.slice(i + 1).every(isContinuation)) {
        if (stream) {
          this.pending = data.slice(i); // wait for the rest of this character
          return out;
        }
        out += "\ufffd";
        break;
      }
      let code = need === 0 ? b : b & (0x3f >> need);
      let ok = true;
      for (let k = 1; k <= need; k += 1) {
        if (!isContinuation(data[i + k])) {
          ok = false;
          break;
        }
        code = (code << 6) | (data[i + k] & 0x3f);
      }
      const tooSmall = (need === 2 && code < 0x800) || (need === 3 && code < 0x10000);
      if (!ok || tooSmall || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        out += "\ufffd";
        i += 1;
        continue;
      }
      out += String.fromCodePoint(code);
      i += need + 1;
    }
    return out;
  }
}

function isContinuation(b) {
  return b !== undefined && (b & 0xc0) === 0x80;
}

module.exports = { Utf8Decoder };
