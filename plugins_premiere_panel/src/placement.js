"use strict";
// Putting the score into the sequence without moving the editor's cut, one version per
// track ("Score", "Score v2", ...), the earlier versions muted, never deleted.
//
// Premiere's insert ripples: with limitShift=false every sync-locked track shifts right by
// the score's length. The score goes on a track of its own (an index past the last track
// makes Premiere add one) with limitShift=true (Adobe's sample: "don't shift non-input
// track for this insert"), and afterwards every clip's start is compared with before; a
// clip that moved anyway is moved back, and if that fails the editor is told to undo.

const SCORE_NAME = /^Score(?: v(\d+))?$/;

class PanelError extends Error {
  constructor(message) {
    super(message);
    this.name = "PanelError";
  }
}

function scoreName(version) {
  return version <= 1 ? "Score" : `Score v${version}`;
}

// Runs one change inside the host's lock and transaction, as UXP requires for actions
// (lockedAccess is required since 26.3). One transaction is one Edit > Undo step.
function transact(project, label, makeActions) {
  let ok = false;
  project.lockedAccess(() => {
    ok = project.executeTransaction((compoundAction) => {
      for (const action of makeActions()) compoundAction.addAction(action);
    }, label);
  });
  if (ok === false) throw new PanelError(`Premiere refused the change "${label}"`);
}

async function tracksOf(sequence, kind) {
  const count = kind === "V" ? await sequence.getVideoTrackCount() : await sequence.getAudioTrackCount();
  const tracks = [];
  for (let i = 0; i < count; i += 1) {
    const track = kind === "V" ? await sequence.getVideoTrack(i) : await sequence.getAudioTrack(i);
    if (track) tracks.push({ label: `${kind}${i + 1}`, index: i, track });
  }
  return tracks;
}

// Every clip of the sequence with where it starts now (ticks), to compare after the edit.
async function cutSnapshot(ppro, sequence) {
  const clipType = ppro.Constants.TrackItemType.CLIP;
  const clips = [];
  for (const kind of ["V", "A"]) {
    for (const { label, track } of await tracksOf(sequence, kind)) {
      for (const item of await track.getTrackItems(clipType, false)) {
        clips.push({ label, item, name: await item.getName(), ticks: (await item.getStartTime()).ticksNumber });
      }
    }
  }
  return clips;
}

async function movedClips(before) {
  const moved = [];
  for (const clip of before) {
    const now = (await clip.item.getStartTime()).ticksNumber;
    if (now !== clip.ticks) moved.push({ ...clip, now });
  }
  return moved;
}

// What the bridge calls a result's WAV: score.wav, score.v2.wav, ... (versioned outputs).
const SCORE_FILE = /(^|[\\/])score(\.v\d+)?\.wav$/i;

// The media file of a track item when it is one of our scores, else "".
async function ourScoreFile(ppro, item) {
  const clip = ppro.ClipProjectItem.cast(await item.getProjectItem());
  const file = clip ? await clip.getMediaFilePath() : "";
  return SCORE_FILE.test(file || "") ? file : "";
}

// The audio tracks that hold an earlier score: named "Score"/"Score vN" (26.3+ can name
// tracks), or holding a clip named so (the panel names the clip on every version), and in
// both cases holding a score WAV of the bridge's: an editor's own track called "Score" is
// never muted or counted.
async function scoreTracks(ppro, sequence) {
  const clipType = ppro.Constants.TrackItemType.CLIP;
  const found = [];
  for (const { index, track } of await tracksOf(sequence, "A")) {
    let match = SCORE_NAME.exec(track.name || "");
    const items = await track.getTrackItems(clipType, false);
    let file = "";
    for (const item of items) {
      const mine = await ourScoreFile(ppro, item);
      if (!mine) continue;
      file = file || mine;
      match = match || SCORE_NAME.exec(await item.getName());
    }
    if (match && file) found.push({ index, track, file, version: Number(match[1] || 1) });
  }
  return found.sort((a, b) => a.version - b.version);
}

// The media file of the newest score in the sequence, for a continuity re-score.
async function previousScorePath(ppro, sequence) {
  const tracks = await scoreTracks(ppro, sequence);
  return tracks.length ? tracks[tracks.length - 1].file : "";
}

function seconds(ticks, ticksPerSecond) {
  return (ticks / ticksPerSecond).toFixed(3);
}

// Lays `clip` (a ClipProjectItem) from the sequence start on a new audio track as the next
// score version, mutes the earlier versions, and proves the cut did not move.
// Returns {index, name, named, muted}.
async function placeScore(ppro, project, sequence, clip, { status = () => {} } = {}) {
  const earlier = await scoreTracks(ppro, sequence);
  const version = earlier.length ? earlier[earlier.length - 1].version + 1 : 1;
  const name = scoreName(version);
  transact(project, `Scorebridge: name ${name}`, () => [clip.createSetNameAction(name)]);

  const before = await cutSnapshot(ppro, sequence);
  const index = await sequence.getAudioTrackCount(); // one past the last: a new track
  const editor = ppro.SequenceEditor.getEditor(sequence);
  const zero = ppro.TickTime.createWithSeconds(0);
  transact(project, `Scorebridge: ${name}`, () => [
    editor.createInsertProjectItemAction(clip, zero, 0, index, true),
  ]);

  const moved = await movedClips(before);
  if (moved.length) await putBack(ppro, project, moved, status);

  const track = await sequence.getAudioTrack(index);
  let named = false;
  if (track && typeof track.createSetNameAction === "function") {
    transact(project, `Scorebridge: name track ${name}`, () => [track.createSetNameAction(name)]);
    named = true;
  }
  const muted = [];
  for (const old of earlier) {
    if (!(await old.track.isMuted())) {
      await old.track.setMute(true);
      muted.push(`A${old.index + 1}`);
    }
  }
  return { index, name, named, muted };
}

// Moves clips the insert shifted back where they were, then checks again.
async function putBack(ppro, project, moved, status) {
  const tps = ppro.TickTime.createWithSeconds(1).ticksNumber;
  const first = moved[0];
  status(`Premiere moved ${moved.length} clip(s) of the cut (e.g. "${first.name}" on ${first.label} ` +
    `from ${seconds(first.ticks, tps)} s to ${seconds(first.now, tps)} s); moving them back…`);
  // Leftward moves go earliest first so that no clip runs into one not yet moved.
  const order = moved.slice().sort((a, b) => a.now - b.now);
  transact(project, "Scorebridge: put the cut back", () =>
    order.map((clip) => clip.item.createMoveAction(ppro.TickTime.createWithTicks(String(clip.ticks - clip.now)))),
  );
  const still = await movedClips(moved);
  if (still.length) {
    throw new PanelError(
      `placing the score moved ${still.length} clip(s) of your cut and they could not be moved back ` +
        `(e.g. "${still[0].name}" on ${still[0].label}). Use Edit > Undo until "Scorebridge: Score" ` +
        "is undone, then tell us which Premiere version this is.",
    );
  }
}

module.exports = { PanelError, SCORE_NAME, cutSnapshot, placeScore, previousScorePath, scoreName, scoreTracks, transact };
