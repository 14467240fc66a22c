"use strict";
// A stand-in for Premiere Pro's UXP `premierepro` module, for the panel tests.
//
// Only documented UXP calls exist here, with the documented names and argument order. Every
// call is recorded in `host.calls`; actions are plain records that change the fake project
// only when executed inside project.lockedAccess(() => project.executeTransaction(...)),
// and creating or executing them elsewhere throws, as the real host refuses it.
// ProjectConverter.exportAsOpenTimelineIO writes the fixture timeline to the path given,
// as Premiere writes the active sequence.

const fs = require("node:fs");
const path = require("node:path");

function createFakePremiere({ otioFile, xmlFile, withOtioExport = true, editorMarkers = [] }) {
  const calls = [];
  const record = (owner, method, args) => calls.push({ owner, method, args });
  const state = { locked: 0, inTransaction: false, transactions: [] };

  class TickTime {
    constructor(seconds) {
      this.seconds = seconds;
    }
    static createWithSeconds(seconds) {
      record("TickTime", "createWithSeconds", [seconds]);
      return new TickTime(seconds);
    }
  }

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
    getDuration() {
      record("Marker", "getDuration", []);
      return this.duration;
    }
    getColorIndex() {
      record("Marker", "getColorIndex", []);
      return this.colorIndex;
    }
    createSetColorByIndexAction(colorIndex) {
      record("Marker", "createSetColorByIndexAction", [colorIndex]);
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

  class ProjectItem {
    constructor(name, mediaPath = null) {
      this.name = name;
      this.mediaPath = mediaPath;
      this.children = mediaPath === null ? [] : null; // a folder has children
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
      return item.mediaPath !== null ? new ClipView(item) : null;
    }
  }

  class ClipView {
    constructor(item) {
      this.item = item;
      this.name = item.name;
    }
    getMediaFilePath() {
      record("ClipProjectItem", "getMediaFilePath", []);
      return Promise.resolve(this.item.mediaPath);
    }
  }

  const root = new ProjectItem("root");
  const sequence = {
    name: "fixture cut",
    markers: new Markers(),
    audioTracks: [[{ name: "dialogue" }]], // A1 holds the editor's sound
    videoTracks: [[{ name: "blue" }, { name: "red" }, { name: "yellow" }]],
    getAudioTrackCount() {
      record("Sequence", "getAudioTrackCount", []);
      return Promise.resolve(this.audioTracks.length);
    },
    getVideoTrackCount() {
      record("Sequence", "getVideoTrackCount", []);
      return Promise.resolve(this.videoTracks.length);
    },
  };

  class SequenceEditor {
    constructor(seq) {
      this.seq = seq;
    }
    static getEditor(seq) {
      record("SequenceEditor", "getEditor", [seq]);
      return new SequenceEditor(seq);
    }
    createInsertProjectItemAction(projectItem, time, videoTrackIndex, audioTrackIndex, limitShift) {
      record("SequenceEditor", "createInsertProjectItemAction", [
        projectItem, time, videoTrackIndex, audioTrackIndex, limitShift,
      ]);
      return action("insert", [projectItem, time, videoTrackIndex, audioTrackIndex, limitShift], () => {
        // "If you pass a track index greater than the number of existing tracks, a new
        // track will be created."
        while (this.seq.audioTracks.length <= audioTrackIndex) this.seq.audioTracks.push([]);
        this.seq.audioTracks[audioTrackIndex].push({ name: projectItem.name, start: time.seconds });
      });
    }
  }

  const project = {
    name: "Fixture project",
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
      state.inTransaction = true;
      try {
        callback({ addAction: (a) => actions.push(a) });
      } finally {
        state.inTransaction = false;
      }
      for (const a of actions) a.apply();
      state.transactions.push({ label: undoString, actions });
      return true;
    },
  };

  const ProjectConverter = {
    exportAsFinalCutProXML(seq, outputFilePath, suppressUI) {
      record("ProjectConverter", "exportAsFinalCutProXML", [seq, outputFilePath, suppressUI]);
      fs.copyFileSync(xmlFile, outputFilePath);
      return Promise.resolve(true);
    },
  };
  if (withOtioExport) {
    ProjectConverter.exportAsOpenTimelineIO = (seq, outputFilePath, suppressUI) => {
      record("ProjectConverter", "exportAsOpenTimelineIO", [seq, outputFilePath, suppressUI]);
      fs.copyFileSync(otioFile, outputFilePath);
      return Promise.resolve(true);
    };
  }

  const module = {
    Project: {
      getActiveProject() {
        record("Project", "getActiveProject", []);
        return Promise.resolve(project);
      },
    },
    ProjectConverter,
    SequenceEditor,
    Markers,
    Marker,
    TickTime,
    FolderItem,
    ClipProjectItem,
  };

  return { module, calls, state, project, sequence, root };
}

// Names of the calls that change the project (the "bridge not running" test expects none).
const EDIT_CALLS = new Set(["importFiles", "executeTransaction", "lockedAccess"]);

module.exports = { createFakePremiere, EDIT_CALLS };
