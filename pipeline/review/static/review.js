// The transcript review page. Every transcript string goes into the page with textContent, never as
// markup. Changes are saved at once; a save based on a stale revision comes back as a conflict that
// the reviewer resolves, and changes saved in another tab appear here within a few seconds. Every row's
// buttons come from the row template and answer through one listener on the list (event delegation),
// so a 10,000-sentence page builds no more per row than before. With a registered recording, the
// player plays a sentence from its start to its end, or plays on with the current sentence following.
"use strict";

const transcript = document.body.dataset.transcript;
const api = `/api/t/${encodeURIComponent(transcript)}/sentences`;
const list = document.getElementById("sentences");
const rowTemplate = document.getElementById("row");
const rows = new Map(); // id -> {data, element}
let order = []; // ids in transcript order
let view = []; // ids shown, in display order
let place = new Map(); // id -> its position in view
let seq = -1;
let current = null; // id of the selected sentence
let editing = null; // id of the sentence whose English or comment is open for editing
const conflicts = new Map(); // id -> the fields a refused save tried to write, until the reviewer decides

// Bidirectional controls in a transcript would reorder what the reviewer sees: show them as tags.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const showControls = (text) => text.replace(BIDI, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);

// Words as the server counts them for word links (Python's str.split): its whitespace, not JavaScript's
// \s (which lacks U+001C-U+001F and U+0085 and has U+FEFF), so a link's index is the word shown.
const SPACE = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const words = (text) => text.split(SPACE).filter(Boolean);

// The translation memory's proposal for an untouched sentence: English reviewed for the same Arabic
// elsewhere in the transcript, sent in `previous` with the `memory` flag. Only a reviewer's save uses it.
const proposal = (data) => (data.flags.includes("memory") && data.previous !== null ? data.previous : null);
// Flagged as the server defines it for every count (store.is_flagged): not approved, with a flag.
const flagged = (data) => data.flagged;
const STATUS_NAMES = { untouched: "untouched", edited: "edited", approved: "approved", "needs-work": "needs work" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = showControls(String(text));
  return node;
}

function timecode(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds * 1000);
  const h = Math.floor(total / 3600000), m = Math.floor(total / 60000) % 60, s = (total / 1000) % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${s.toFixed(3).padStart(6, "0")}`;
}

function render(data) {
  let row = rows.get(data.id);
  if (!row) {
    const element = rowTemplate.content.firstElementChild.cloneNode(true);
    element.dataset.id = data.id;
    row = { element, data };
    rows.set(data.id, row);
  }
  row.data = data;
  const e = row.element;
  e.dataset.status = data.status;
  e.querySelector(".index").textContent = `#${data.index}`;
  e.setAttribute("aria-label", `Sentence ${data.index}, ${STATUS_NAMES[data.status] ?? data.status}`);
  e.querySelector(".time").textContent = data.start === null ? "" : `${timecode(data.start)} – ${timecode(data.end)}`;
  e.querySelector(".speaker").textContent = showControls(data.speaker || "");
  const status = e.querySelector(".status");
  status.textContent = data.status;
  status.className = `status ${data.status}`;
  // Two confidences, named apart: the translator's in its own English, and, for English a reviewer
  // wrote, the aligner's in that English (the mean probability it gives its words, given the Arabic).
  const confidence = e.querySelector(".confidence");
  confidence.textContent = `machine ${data.confidence.toFixed(2)}`;
  confidence.title = "The translating model's confidence in its own English";
  const edited = data.en !== data.machine;
  const aligner = e.querySelector(".edit-confidence");
  aligner.textContent = edited && data.edit_confidence !== null ? `aligner on this English ${data.edit_confidence.toFixed(2)}` : "";
  aligner.title = "The aligner's confidence in the English as edited (how well it follows from the Arabic)";
  const flags = e.querySelector(".flags");
  flags.replaceChildren(...data.flags.map((flag) => el("span", "flag", flag)));

  const linked = new Map();
  for (const [en, ar] of data.links) linked.set(en, [...(linked.get(en) || []), ar]);
  const en = e.querySelector(".en");
  if (editing !== data.id) {
    en.replaceChildren();
    words(data.en).forEach((word, i) => {
      const span = el("span", "w", word);
      span.dataset.links = (linked.get(i) || []).join(" ");
      en.append(span, " ");
    });
  }
  const ar = e.querySelector(".ar");
  ar.replaceChildren();
  words(data.ar).forEach((word, i) => {
    const span = el("span", "w", word);
    span.dataset.i = i;
    ar.append(span, " ");
  });

  const extra = e.querySelector(".extra");
  if (conflicts.has(data.id)) {
    extra.replaceChildren(conflictBox(data.id, data));
  } else if (editing !== data.id) {
    extra.replaceChildren();
    if (data.expected.length) extra.append(el("div", "notice", `Glossary: expected ${data.expected.join(", ")}`));
    if (data.previous && data.flags.includes("source-changed")) {
      extra.append(el("div", "notice", `The Arabic changed; the reviewed English was: ${data.previous}`));
    }
    if (proposal(data) !== null) extra.append(proposalBox(data));
    if (edited) {
      extra.append(el("div", "", `Machine: ${data.machine}`));
      const flagsThen = data.machine_flags.length ? data.machine_flags.join(", ") : "none";
      extra.append(el("div", "machine-flags", `Machine's flags: ${flagsThen}`));
      if (data.realigned === false) extra.append(el("div", "notice unlinked", `No word links for this English: ${data.realign_note}`));
    }
    if (data.comment) extra.append(el("div", "", `Comment: ${data.comment}`));
  }
  return row;
}

function applyView() {
  // Rows never move in the DOM (re-appending thousands of them costs seconds): the view sets each
  // row's flex `order` and `hidden`, and keeps the shown ids in display order for the keyboard.
  const filter = document.getElementById("filter").value;
  const flag = document.getElementById("flag").value;
  const sort = document.getElementById("sort").value;
  const ids = [...order];
  if (sort === "confidence") ids.sort((a, b) => rows.get(a).data.confidence - rows.get(b).data.confidence);
  view = [];
  ids.forEach((id, rank) => {
    const { data, element } = rows.get(id);
    let show = filter === "all" || (filter === "flagged" ? flagged(data) : filter === `status:${data.status}`);
    if (flag && !data.flags.includes(flag)) show = false;
    element.style.order = rank;
    element.hidden = !show;
    if (show) view.push(id);
  });
  place = new Map(view.map((id, index) => [id, index]));
  counts();
}

function refresh() {
  // After any change: the shown rows are again exactly those the filter names (so every count agrees
  // with what is shown); a selected sentence that no longer matches gives way to the next shown one.
  const at = current === null ? undefined : view.indexOf(current);
  applyView();
  if (current !== null && !place.has(current) && view.length) {
    select(view[Math.min(at === undefined || at < 0 ? 0 : at, view.length - 1)], false);
  }
}

function counts() {
  // The statuses split the transcript (the bar); "flagged" cuts across them. Each count is a button
  // that shows exactly its sentences, so what it says and what the filter shows are one number.
  const tally = Object.fromEntries(Object.keys(STATUS_NAMES).map((status) => [status, 0]));
  let marked = 0;
  for (const { data } of rows.values()) {
    tally[data.status] = (tally[data.status] || 0) + 1;
    if (flagged(data)) marked += 1;
  }
  const total = rows.size || 1;
  const bar = document.getElementById("progress");
  const legend = document.getElementById("counts");
  const entries = [["approved"], ["edited"], ["needs-work"], ["untouched"]].map(([status]) => [`status:${status}`, STATUS_NAMES[status], tally[status], status]);
  entries.push(["flagged", "flagged", marked, "flagged"]);
  bar.replaceChildren(...entries.slice(0, 4).map(([, label, n, kind]) => {
    const part = el("span", `part ${kind}`);
    part.style.width = `${(100 * n) / total}%`;
    part.title = `${n} ${label}`;
    return part;
  }));
  bar.setAttribute("aria-label", `Review progress: ${entries.map(([, label, n]) => `${n} ${label}`).join(", ")} of ${rows.size}`);
  const filter = document.getElementById("filter").value;
  // Updated in place, never rebuilt: a count button that has the focus keeps it.
  if (legend.children.length !== entries.length) {
    legend.replaceChildren(...entries.map(([value, label, , kind]) => {
      const button = el("button", `count ${kind}`);
      button.type = "button";
      button.dataset.filter = value;
      button.title = `Show the ${label} sentences`;
      return button;
    }));
  }
  entries.forEach(([value, label, n], i) => {
    const button = legend.children[i];
    button.textContent = `${n} ${label}`;
    button.setAttribute("aria-pressed", String(filter === value));
  });
}

function say(text) {
  document.getElementById("status").textContent = text;
}

function select(id, scroll = true, focus = true) {
  if (current && rows.has(current)) rows.get(current).element.classList.remove("current");
  current = id;
  const element = rows.get(id).element;
  element.classList.add("current");
  if (focus && !element.contains(document.activeElement)) element.focus({ preventScroll: true });
  if (scroll) element.scrollIntoView({ block: "nearest" });
}

function move(step) {
  if (!view.length) return;
  const at = place.get(current);
  select(view[at === undefined ? 0 : Math.min(view.length - 1, Math.max(0, at + step))]);
}

// `revision`: the one the change was made on. An editor saves on the revision it was opened on, even if
// a poll brought a newer one meanwhile (it does not redraw an open editor): a conflict, never a silent
// overwrite of what another tab saved.
async function save(id, fields, revision = rows.get(id).data.revision) {
  const response = await fetch(`${api}/${encodeURIComponent(id)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ revision, ...fields }),
  });
  if (response.status === 409) {
    conflict(id, fields, (await response.json()).current);
    say(`Sentence ${rows.get(id).data.index} was changed elsewhere: choose which English to keep.`);
    return false;
  }
  if (!response.ok) {
    const text = await response.text();
    let reason = text;
    try {
      reason = JSON.parse(text).error ?? text; // the app's errors are {"error": "..."}
    } catch {
      // not JSON: show it as it came
    }
    alert(`Not saved: ${String(reason).slice(0, 200)}`);
    return false;
  }
  const saved = await response.json();
  render(saved);
  offerFlags([saved]); // an edit can bring a flag no sentence had
  await load(); // at once, the sentences whose memory proposal this save changed: counts stay true
  refresh();
  const gone = place.has(id) ? "" : " (no longer shown by this filter)";
  say(`Sentence ${saved.index} saved: ${STATUS_NAMES[saved.status] ?? saved.status}${saved.flagged ? ", flagged" : ""}${gone}.`);
  return true;
}

function conflict(id, fields, theirs) {
  // Someone saved this sentence since this tab loaded it: show both, lose neither.
  editing = null;
  conflicts.set(id, fields);
  render(theirs);
}

function conflictBox(id, theirs) {
  const fields = conflicts.get(id);
  const box = el("div", "notice conflict");
  box.append(el("div", "", "This sentence was changed in another tab or by an import while you worked."));
  box.append(el("div", "", `Theirs (${theirs.status}): ${theirs.en}`));
  box.append(el("div", "", `Yours: ${fields.en ?? theirs.en}${fields.status ? ` (${fields.status})` : ""}`));
  const keep = el("button", "", "Keep mine");
  keep.addEventListener("click", (event) => {
    event.stopPropagation();
    conflicts.delete(id);
    save(id, fields);
  });
  const take = el("button", "", "Keep theirs");
  take.addEventListener("click", (event) => {
    event.stopPropagation();
    conflicts.delete(id);
    render(rows.get(id).data);
  });
  box.append(keep, " ", take);
  return box;
}

function proposalBox(data) {
  const box = el("div", "notice proposal");
  const where = data.flags.includes("memory-approved") ? "approved" : "edited";
  box.append(el("div", "", `Translation memory (${where} for this Arabic elsewhere in the transcript): ${data.previous}`));
  const use = el("button", "", "Use proposal");
  use.title = "Save this English for this sentence (key m)";
  use.addEventListener("click", (event) => {
    event.stopPropagation();
    select(data.id, false);
    useProposal(data.id);
  });
  box.append(use);
  return box;
}

function useProposal(id) {
  // An ordinary edit: saved on the sentence's revision, so a stale tab gets a conflict, not a loss.
  const proposed = proposal(rows.get(id).data);
  if (proposed !== null) save(id, { en: proposed });
}

function openEditor(id, field) {
  const row = rows.get(id);
  const openedOn = row.data.revision;
  editing = id;
  const target = field === "en" ? row.element.querySelector(".en") : row.element.querySelector(".extra");
  const label = field === "en" ? "English" : "Comment";
  const box = el("textarea");
  box.value = field === "en" ? row.data.en : row.data.comment;
  box.setAttribute("aria-label", label);
  const cancel = () => {
    editing = null;
    render(rows.get(id).data);
    select(id);
  };
  const commit = async () => {
    const value = box.value;
    editing = null;
    await save(id, field === "en" ? { en: value } : { comment: value }, openedOn);
    select(id);
  };
  box.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Escape") cancel();
    else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      commit();
    }
  });
  const saveButton = el("button", "", `Save ${label.toLowerCase()}`);
  saveButton.type = "button";
  saveButton.title = "Save (Ctrl+Enter)";
  saveButton.addEventListener("click", (event) => { event.stopPropagation(); commit(); });
  const cancelButton = el("button", "", "Cancel");
  cancelButton.type = "button";
  cancelButton.title = "Cancel (Esc)";
  cancelButton.addEventListener("click", (event) => { event.stopPropagation(); cancel(); });
  const editor = el("div", "editor");
  editor.append(box, saveButton, " ", cancelButton);
  target.replaceChildren(editor);
  box.focus();
}

async function showHistory(id) {
  const response = await fetch(`${api}/${encodeURIComponent(id)}/history`);
  const entries = await response.json();
  const box = el("div", "notice");
  box.append(el("div", "", entries.length ? "History:" : "No changes yet."));
  for (const h of entries) box.append(el("div", "", `${h.at} r${h.revision} ${h.field}: ${h.old ?? ""} → ${h.new ?? ""}`));
  rows.get(id).element.querySelector(".extra").replaceChildren(box);
}

// One table of what each action does, for the keys and the row buttons alike.
const ACTIONS = {
  play: (id, event) => playSentence(id, Boolean(event?.shiftKey)),
  approve: (id) => save(id, { status: "approved" }),
  "needs-work": (id) => save(id, { status: "needs-work" }),
  edit: (id) => openEditor(id, "en"),
  comment: (id) => openEditor(id, "comment"),
  history: (id) => showHistory(id),
  memory: (id) => useProposal(id),
};
const KEYS = { Enter: "edit", e: "edit", a: "approve", n: "needs-work", c: "comment", m: "memory", h: "history", p: "play", P: "play" };

document.addEventListener("keydown", (event) => {
  if (editing || ["TEXTAREA", "SELECT", "INPUT", "SUMMARY"].includes(event.target.tagName)) return;
  if (event.target.tagName === "BUTTON" && (event.key === "Enter" || event.key === " ")) return; // the button's own
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
  if (event.key in moves) {
    event.preventDefault();
    move(moves[event.key]);
  } else if (event.key in KEYS && current) {
    event.preventDefault();
    ACTIONS[KEYS[event.key]](current, event);
  }
});

list.addEventListener("click", (event) => {
  const element = event.target.closest("article.s");
  if (!element || event.target.closest("textarea, .editor, .conflict, .proposal")) return;
  const id = element.dataset.id;
  const button = event.target.closest("button[data-action]");
  if (current !== id) select(id, false);
  if (button) ACTIONS[button.dataset.action](id, event);
});

document.getElementById("counts").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-filter]");
  if (!button) return;
  document.getElementById("filter").value = button.dataset.filter;
  document.getElementById("flag").value = "";
  refresh();
  say(`Showing ${view.length} ${button.textContent.replace(/^[0-9]+ /, "")} sentence(s).`);
});

list.addEventListener("mouseover", (event) => {
  const word = event.target.closest(".en .w");
  list.querySelectorAll(".w.hl").forEach((w) => w.classList.remove("hl"));
  if (!word) return;
  const ar = word.closest("article").querySelectorAll(".ar .w");
  for (const i of word.dataset.links.split(" ").filter(Boolean)) ar[Number(i)]?.classList.add("hl");
  word.classList.add("hl");
});

for (const id of ["filter", "flag", "sort"]) document.getElementById(id).addEventListener("change", refresh);

function offerFlags(sentences) {
  const choice = document.getElementById("flag");
  const known = new Set([...choice.options].map((option) => option.value));
  const flags = new Set(sentences.flatMap((s) => s.flags).filter((flag) => !known.has(flag)));
  for (const flag of [...flags].sort()) choice.append(el("option", "", flag));
}

async function load() {
  const response = await fetch(`${api}?since=${seq}`);
  const body = await response.json();
  const first = seq < 0;
  if (!first && body.sentences.some((s) => !rows.has(s.id))) {
    location.reload(); // the transcript was translated again: its sentences changed
    return;
  }
  for (const data of body.sentences) {
    const before = rows.get(data.id);
    const changedElsewhere = before && before.data.revision !== data.revision;
    const row = render(data);
    if (changedElsewhere) row.element.classList.add("remote");
  }
  seq = body.seq;
  offerFlags(body.sentences); // a save elsewhere can bring a new flag (a memory proposal)
  if (first) {
    order = body.sentences.map((s) => s.id);
    list.replaceChildren(...order.map((id) => rows.get(id).element));
    const show = new URLSearchParams(location.search).get("show"); // the index page's counts link here
    const filter = document.getElementById("filter");
    if ([...filter.options].some((option) => option.value === show)) filter.value = show;
    applyView();
    if (order.length) select(order[0], false);
    indexTimes();
  } else if (body.sentences.length) {
    refresh();
  }
}

// --- the recording ------------------------------------------------------------------------------------
const player = document.getElementById("player");
let stopAt = null; // where playing one sentence pauses; null: playing on
let timed = []; // [start, id] of the sentences with times, by start

function indexTimes() {
  timed = order.map((id) => [rows.get(id).data.start, id]).filter(([start]) => start !== null).sort((a, b) => a[0] - b[0]);
}

function sentenceAt(seconds) {
  // The last sentence starting at or before `seconds` (binary search).
  let low = 0, high = timed.length - 1, found = null;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (timed[middle][0] <= seconds) { found = timed[middle][1]; low = middle + 1; } else high = middle - 1;
  }
  return found;
}

function playSentence(id, playOn = false) {
  const data = rows.get(id).data;
  if (!player) return say("No recording is registered for this transcript.");
  if (data.start === null) return say(`Sentence ${data.index} has no time in the transcript.`);
  if (!player.paused && current === id && stopAt !== null && !playOn) {
    player.pause();
    return say("Paused.");
  }
  const follow = playOn || document.getElementById("follow").checked;
  const lead = Math.max(0, Number(document.getElementById("lead-in").value) || 0);
  stopAt = follow ? null : data.end;
  player.currentTime = Math.max(0, data.start - lead);
  player.play().catch(() => {}); // a refusal shows through the element's error event
  say(`Playing sentence ${data.index}${follow ? " and on" : ""}.`);
}

function watchEnd() {
  // Checked every frame while playing one sentence: timeupdate comes only every quarter second.
  if (!player || player.paused) return;
  if (stopAt !== null && player.currentTime >= stopAt) {
    player.pause();
    stopAt = null;
    return;
  }
  requestAnimationFrame(watchEnd);
}

function mediaProblem(text, offerConversion) {
  const box = document.getElementById("media-problem");
  box.hidden = false;
  box.replaceChildren(el("span", "", text));
  if (offerConversion) {
    const button = el("button", "", "Convert to a playable file (ffmpeg)");
    button.type = "button";
    button.id = "convert";
    button.addEventListener("click", async () => {
      button.disabled = true;
      say("Converting the recording with ffmpeg…");
      const response = await fetch(`/api/t/${encodeURIComponent(transcript)}/media/convert`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
      });
      if (response.ok) location.reload();
      else {
        button.disabled = false;
        say(`Not converted: ${(await response.json()).error}`);
      }
    });
    box.append(" ", button);
  }
  say(text);
}

if (player) {
  document.body.classList.add("has-media");
  player.addEventListener("play", () => requestAnimationFrame(watchEnd));
  player.addEventListener("timeupdate", () => {
    if (stopAt !== null || player.paused) return;
    const id = sentenceAt(player.currentTime); // playing on: the current sentence follows
    if (id !== null && id !== current && !editing) select(id, true, false); // the player keeps the focus
  });
  player.addEventListener("error", () => {
    const code = player.error ? player.error.code : 0;
    const file = player.dataset.file;
    const converter = document.body.dataset.converter === "ffmpeg";
    const why = code === 4 ? "this browser cannot play its format" : "it could not be loaded";
    mediaProblem(
      `The recording ${file} cannot be played: ${why}.` +
        (converter ? "" : " Install ffmpeg (Debian: apt-get install ffmpeg) to convert it to a playable file."),
      converter,
    );
  });
  document.getElementById("speed").addEventListener("change", (event) => {
    player.playbackRate = Number(event.target.value);
  });
} else {
  fetch(`/api/t/${encodeURIComponent(transcript)}/media/choices`).then((r) => r.json()).then((files) => {
    if (!files.length) return;
    const choice = document.getElementById("media-file");
    choice.replaceChildren(...files.map((file) => el("option", "", file)));
    document.getElementById("media-choice").hidden = false;
    document.getElementById("use-media").addEventListener("click", async () => {
      const response = await fetch(`/api/t/${encodeURIComponent(transcript)}/media`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ file: choice.value }),
      });
      if (response.ok) location.reload();
      else say(`Not registered: ${(await response.json()).error}`);
    });
  });
}

load();
setInterval(() => { if (!editing) load(); }, 3000);
