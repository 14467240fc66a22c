"use strict";
// A stand-in for Premiere Pro's UXP `premierepro` module, for the panel tests.
//
// Only documented UXP calls exist here (ppro-reference), with the documented names and
// argument order, and only from the version the reference gives ("Since"): pass
// `version: "25.6"` and there is no ProjectConverter (26.2) and no
// AudioTrack.createSetNameAction (26.3). Every call is recorded in `host.calls`.
//
// Behaviour that matters to the panel, as the host has it:
// - actions are records that change the project only when executed inside
//   project.lockedAccess(() => project.executeTransaction(...)); creating or executing them
//   elsewhere throws;
// - createInsertProjectItemAction ripples: every clip at or after the insert time moves
//   right by the inserted duration, on the target track and, unless limitShift is true, on
//   every other track (sync lock on, Premiere's default); an index past the last track
//   creates a track ("a new track will be created"); createOverwriteItemAction never moves
//   anything but replaces what it covers on its own track;
// - `rippleDespiteLimitShift` models a host that shifts other tracks anyway, so that the
//   panel's after-the-edit check can be tested;
// - TickTime keeps integer ticks (254016000000 per second, as Premiere does); markers sit
//   wherever they are put (the panel must snap them to frames itself).
// ProjectConverter.exportAs* write the fixture timeline to the path given, as Premiere
// writes the active sequence.

const fs = require("node:fs");
const path = require("node:path");

const TICKS_PER_SECOND = 254016000000;

const SINCE = {
  ProjectConverter: "26.2",
  "AudioTrack.createSetNameAction": "26.3",
};

function atLeast(version, wanted) {
  const [a, b] = version.split(".").map(Number);
  const [c, d] = wanted.split(".").map(Number);
  return a > c || (a === c && b >= d);
}

// Seconds of audio in a PCM WAV file (what Premiere would read from the header).
function wavSeconds(file) {
  const bytes = fs.readFileSync(file);
  let byteRate = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString("ascii", offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === "fmt ") byteRate = bytes.readUInt32LE(offset + 16);
    if (id === "data") return size / byteRate;
    offset += 8 + size + (size % 2);
  }
  throw new Error(`not a WAV file: ${file}`);
}

function createFakePremiere({
  otioFile,
  xmlFile,
  version = "26.3",
  editorMarkers = [],
  projectPath = null,
  fps = 24,
  rippleDespiteLimitShift = false,
}) {
  const calls = [];
  const record = (owner, method, args) => calls.push({ owner, method, args });
  const state = { locked: 0, transactions: [] };
  const has = (feature) => atLeast(version, SINCE[feature]);
  const ticksPerFrame = String(Math.round(TICKS_PER_SECOND / fps)); // 24 -> 10584000000

  class TickTime {
    constructor(ticks) {
      this.ticksNumber = Number(ticks);
    }
    get ticks() {
      return String(this.ticksNumber);
    }
    get seconds() {
      return this.ticksNumber / TICKS_PER_SECOND;
    }
    static createWithSeconds(seconds) {
      record("TickTime", "createWithSeconds", [seconds]);
      return new TickTime(Math.round(seconds * TICKS_PER_SECOND));
    }
    static createWithTicks(ticks) {
      record("TickTime", "createWithTicks", [ticks]);
      if (typeof ticks !== "string") throw new TypeError("createWithTicks takes a string");
      return new TickTime(ticks);
    }
  }
  const at = (seconds) => new TickTime(Math.round(seconds * TICKS_PER_SECOND));

  // Actions may only be created under the project lock, and only change the project when
  // a transaction runs them.
  function action(kind, args, apply) {
    if (!state.locked) throw new Error(`${kind} action created outside project.lockedAccess`);
    return { kind, args, apply };
  }

  class Marker {
    constructor({ name, type, start, duration, comments, colorIndex = 0 }) {
      Object.assign(this, { name, type, start, duration, comments, colorIndex });
    }
    getName() {
      record("Marker", "getName", []);
      return this.name;
    }
    getComments() {
      record("Marker", "getComments", []);
      return this.comments;
    }
    getStart() {
      record("Marker", "getStart", []);
      return this.start;
    }
    getColorIndex() {
      record("Marker", "getColorIndex", []);
      return this.colorIndex;
    }
    createSetColorByIndexAction(colorIndex) {
      record("Marker", "createSetColorByIndexAction", [colorIndex]);
      if (!Number.isInteger(colorIndex)) throw new TypeError("colorIndex must be an integer");
      return action("setColor", [this, colorIndex], () => {
        this.colorIndex = colorIndex;
      });
    }
  }
  Marker.MARKER_TYPE_COMMENT = "Comment";

  class Markers {
    constructor() {
      this.list = editorMarkers.map((m) => new Marker({ type: "Comment", ...m }));
    }
    static getMarkers(owner) {
      record("Markers", "getMarkers(static)", [owner]);
      return Promise.resolve(owner.markers);
    }
    getMarkers(filters) {
      record("Markers", "getMarkers", filters === undefined ? [] : [filters]);
      return this.list.slice();
    }
    createAddMarkerAction(name, markerType, startTime, duration, comments) {
      record("Markers", "createAddMarkerAction", [name, markerType, startTime, duration, comments]);
      return action("addMarker", [name, markerType, startTime, duration, comments], () => {
        this.list.push(new Marker({ name, type: markerType, start: startTime, duration, comments }));
      });
    }
    createRemoveMarkerAction(marker) {
      record("Markers", "createRemoveMarkerAction", [marker]);
      return action("removeMarker", [marker], () => {
        this.list = this.list.filter((m) => m !== marker);
      });
    }
  }

  // ---- the project panel

  class ProjectItem {
    constructor(name, mediaPath = null) {
      this.name = name;
      this.mediaPath = mediaPath;
      this.children = mediaPath === null ? [] : null; // a folder has children
      this.seconds = mediaPath && mediaPath.endsWith(".wav") ? wavSeconds(mediaPath) : 0;
    }
    createSetNameAction(inName) {
      record("ProjectItem", "createSetNameAction", [inName]);
      return action("setItemName", [inName], () => {
        this.name = inName;
      });
    }
  }

  class FolderItem {
    static cast(item) {
      record("FolderItem", "cast", [item]);
      return item.children ? new FolderView(item) : null;
    }
  }

  class FolderView {
    constructor(item) {
      this.item = item;
      this.name = item.name;
    }
    getItems() {
      record("FolderItem", "getItems", []);
      return Promise.resolve(this.item.children.slice());
    }
    createBinAction(name, makeUnique) {
      record("FolderItem", "createBinAction", [name, makeUnique]);
      return action("createBin", [name, makeUnique], () => {
        this.item.children.push(new ProjectItem(name));
      });
    }
  }

  class ClipProjectItem {
    static cast(item) {
      record("ClipProjectItem", "cast", [item]);
      const target = item instanceof ClipView ? item.item : item;
      return target && target.mediaPath !== null ? new ClipView(target) : null;
    }
  }

  class ClipView {
    constructor(item) {
      this.item = item;
    }
    get name() {
      return this.item.name;
    }
    getMediaFilePath() {
      record("ClipProjectItem", "getMediaFilePath", []);
      return Promise.resolve(this.item.mediaPath);
    }
    createSetNameAction(inName) {
      return this.item.createSetNameAction(inName);
    }
  }

  // ---- the sequence: tracks of clips with start/duration in ticks

  class TrackItem {
    constructor(name, startSeconds, durationSeconds, projectItem = null) {
      this.name = name;
      this.start = at(startSeconds);
      this.duration = at(durationSeconds);
      this.projectItem = projectItem;
    }
    getName() {
      record("TrackItem", "getName", []);
      return Promise.resolve(this.name);
    }
    getStartTime() {
      record("TrackItem", "getStartTime", []);
      return Promise.resolve(this.start);
    }
    getEndTime() {
      record("TrackItem", "getEndTime", []);
      return Promise.resolve(new TickTime(this.start.ticksNumber + this.duration.ticksNumber));
    }
    getProjectItem() {
      record("TrackItem", "getProjectItem", []);
      return Promise.resolve(this.projectItem);
    }
    createMoveAction(tickTime) {
      // "moves ... by shifting it by" the time given: an offset, not a position
      record("TrackItem", "createMoveAction", [tickTime]);
      return action("move", [this, tickTime], () => {
        this.start = new TickTime(this.start.ticksNumber + tickTime.ticksNumber);
      });
    }
  }

  class Track {
    constructor(kind, index, name, items = []) {
      Object.assign(this, { kind, index, name, items, muted: false });
    }
    getIndex() {
      record(this.kind, "getIndex", []);
      return Promise.resolve(this.index);
    }
    getTrackItems(trackItemType, includeEmptyTrackItems) {
      record(this.kind, "getTrackItems", [trackItemType, includeEmptyTrackItems]);
      if (trackItemType !== Constants.TrackItemType.CLIP) throw new Error("the fake only lists clips");
      return this.items.slice();
    }
    isMuted() {
      record(this.kind, "isMuted", []);
      return Promise.resolve(this.muted);
    }
    setMute(mute) {
      record(this.kind, "setMute", [mute]);
      this.muted = mute;
      return Promise.resolve(true);
    }
  }
  class AudioTrack extends Track {}
  if (has("AudioTrack.createSetNameAction")) {
    AudioTrack.prototype.createSetNameAction = function createSetNameAction(name) {
      record("AudioTrack", "createSetNameAction", [name]);
      return action("setTrackName", [name], () => {
        this.name = name;
      });
    };
  }

  const Constants = {
    TrackItemType: { EMPTY: 0, CLIP: 1, TRANSITION: 2, PREVIEW: 3, FEEDBACK: 4 },
    MediaType: { ANY: 0, DATA: 1, VIDEO: 2, AUDIO: 3 },
  };

  const sequence = {
    name: "fixture cut",
    markers: new Markers(),
    // the editor's cut: V1 three shots, A1 dialogue under the second and third
    videoTracks: [new Track("VideoTrack", 0, "Video 1", [
      new TrackItem("blue", 0, 2), new TrackItem("red", 2, 2), new TrackItem("yellow", 4, 2),
    ])],
    audioTracks: [new AudioTrack("AudioTrack", 0, "Audio 1", [
      new TrackItem("dialogue", 2, 1.5), new TrackItem("dialogue 2", 4, 2),
    ])],
    getAudioTrackCount() {
      record("Sequence", "getAudioTrackCount", []);
      return Promise.resolve(this.audioTracks.length);
    },
    getVideoTrackCount() {
      record("Sequence", "getVideoTrackCount", []);
      return Promise.resolve(this.videoTracks.length);
    },
    getAudioTrack(index) {
      record("Sequence", "getAudioTrack", [index]);
      return Promise.resolve(this.audioTracks[index] || null);
    },
    getVideoTrack(index) {
      record("Sequence", "getVideoTrack", [index]);
      return Promise.resolve(this.videoTracks[index] || null);
    },
    getTimebase() {
      record("Sequence", "getTimebase", []);
      return Promise.resolve(ticksPerFrame);
    },
  };

  function audioTrackAt(index) {
    while (sequence.audioTracks.length <= index) {
      const n = sequence.audioTracks.length;
      sequence.audioTracks.push(new AudioTrack("AudioTrack", n, `Audio ${n + 1}`));
    }
    return sequence.audioTracks[index];
  }

  function shiftFrom(track, fromTicks, byTicks) {
    for (const item of track.items) {
      if (item.start.ticksNumber >= fromTicks) item.start = new TickTime(item.start.ticksNumber + byTicks);
    }
  }

  class SequenceEditor {
    constructor(seq) {
      this.seq = seq;
    }
    static getEditor(seq) {
      record("SequenceEditor", "getEditor", [seq]);
      return new SequenceEditor(seq);
    }
    createInsertProjectItemAction(projectItem, time, videoTrackIndex, audioTrackIndex, limitShift) {
      const args = [projectItem, time, videoTrackIndex, audioTrackIndex, limitShift];
      record("SequenceEditor", "createInsertProjectItemAction", args);
      return action("insert", args, () => {
        const item = projectItem.item || projectItem;
        const duration = at(item.seconds).ticksNumber;
        const target = audioTrackAt(audioTrackIndex);
        shiftFrom(target, time.ticksNumber, duration);
        if (!limitShift || rippleDespiteLimitShift) {
          for (const track of [...this.seq.videoTracks, ...this.seq.audioTracks]) {
            if (track !== target) shiftFrom(track, time.ticksNumber, duration);
          }
        }
        target.items.push(new TrackItem(item.name, time.seconds, item.seconds, projectItem));
      });
    }
    createOverwriteItemAction(projectItem, time, videoTrackIndex, audioTrackIndex) {
      const args = [projectItem, time, videoTrackIndex, audioTrackIndex];
      record("SequenceEditor", "createOverwriteItemAction", args);
      return action("overwrite", args, () => {
        const item = projectItem.item || projectItem;
        const target = this.seq.audioTracks[audioTrackIndex];
        if (!target) throw new Error(`no audio track ${audioTrackIndex} to overwrite`);
        const end = time.seconds + item.seconds;
        target.items = target.items.filter((t) => t.start.seconds >= end || t.start.seconds + t.duration.seconds <= time.seconds);
        target.items.push(new TrackItem(item.name, time.seconds, item.seconds, projectItem));
      });
    }
  }

  const root = new ProjectItem("root");
  const project = {
    name: "Fixture project",
    path: projectPath,
    getActiveSequence() {
      record("Project", "getActiveSequence", []);
      return Promise.resolve(sequence);
    },
    getRootItem() {
      record("Project", "getRootItem", []);
      return Promise.resolve(new FolderView(root));
    },
    importFiles(filePaths, suppressUI, targetBin, asNumberedStills) {
      record("Project", "importFiles", [filePaths, suppressUI, targetBin, asNumberedStills]);
      for (const file of filePaths) {
        if (!fs.existsSync(file)) return Promise.resolve(false);
        targetBin.item.children.push(new ProjectItem(path.basename(file), file));
      }
      return Promise.resolve(true);
    },
    lockedAccess(callback) {
      record("Project", "lockedAccess", []);
      state.locked += 1;
      try {
        callback();
      } finally {
        state.locked -= 1;
      }
    },
    executeTransaction(callback, undoString) {
      record("Project", "executeTransaction", [undoString]);
      if (!state.locked) throw new Error("executeTransaction outside lockedAccess");
      const actions = [];
      callback({ addAction: (a) => actions.push(a) });
      for (const a of actions) a.apply();
      state.transactions.push({ label: undoString, actions });
      return true;
    },
  };

  const module = {
    Project: {
      getActiveProject() {
        record("Project", "getActiveProject", []);
        return Promise.resolve(project);
      },
    },
    SequenceEditor,
    Markers,
    Marker,
    TickTime,
    FolderItem,
    ClipProjectItem,
    Constants,
  };
  if (has("ProjectConverter")) {
    module.ProjectConverter = {
      exportAsFinalCutProXML(seq, outputFilePath, suppressUI) {
        record("ProjectConverter", "exportAsFinalCutProXML", [seq, outputFilePath, suppressUI]);
        fs.copyFileSync(xmlFile, outputFilePath);
        return Promise.resolve(true);
      },
      exportAsOpenTimelineIO(seq, outputFilePath, suppressUI) {
        record("ProjectConverter", "exportAsOpenTimelineIO", [seq, outputFilePath, suppressUI]);
        fs.copyFileSync(otioFile, outputFilePath);
        return Promise.resolve(true);
      },
    };
  }

  // Where every clip of the editor's cut starts, by track: what placement must not change.
  const editorCut = () => [...sequence.videoTracks, ...sequence.audioTracks].flatMap((track) =>
    track.items.filter((item) => !item.projectItem).map((item) => `${track.name}/${item.name}@${item.start.ticks}`));

  return { module, calls, state, project, sequence, root, editorCut, TICKS_PER_SECOND };
}

// Names of the calls that change the project (the "bridge not running" test expects none).
const EDIT_CALLS = new Set(["importFiles", "executeTransaction", "lockedAccess", "setMute"]);

// UXP's global fetch as the reference documents it: init takes method, headers, body and
// credentials (anything else, such as `signal`, is not part of it and is dropped here), a
// body with GET throws TypeError. Responses stream (`body.getReader()`) as in UXP.
function uxpFetch(realFetch = globalThis.fetch) {
  return (url, init = {}) => {
    const { method = "GET", headers, body, credentials } = init;
    if (body !== undefined && (method === "GET" || method === "HEAD")) {
      return Promise.reject(new TypeError("body with GET/HEAD"));
    }
    return realFetch(url, { method, headers, body, credentials: credentials || "include" });
  };
}

// Makes the panel's code see what UXP has: no TextDecoder (Adobe's network recipe shows it
// undefined). Node's own fetch needs the global, so it stays for node's code; a reference
// made *from the panel's source files* gets UXP's ReferenceError.
const PANEL_SOURCE = `${path.sep}plugins_premiere_panel${path.sep}src${path.sep}`;
function withoutTextDecoder() {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "TextDecoder");
  const real = globalThis.TextDecoder;
  Object.defineProperty(globalThis, "TextDecoder", {
    configurable: true,
    get() {
      const caller = (new Error().stack || "").split("\n")[2] || "";
      if (caller.includes(PANEL_SOURCE)) throw new ReferenceError("TextDecoder is not defined (UXP has none)");
      return real;
    },
  });
  return () => Object.defineProperty(globalThis, "TextDecoder", saved);
}

module.exports = { createFakePremiere, EDIT_CALLS, uxpFetch, withoutTextDecoder, wavSeconds };
