// Entry point of the board page: wires the socket, the protocol, the board and the UI together.

import { ReconnectingSocket } from './net/socket.js';
import * as proto from './net/protocol.js';
import { Board } from './render/board.js';
import { Previews } from './render/previews.js';
import { Pen } from './ui/pen.js';
import { Select } from './ui/select.js';
import { bindSteadySelect } from './ui/steady.js';
import { rememberBoard } from './ui/boards.js';
import { TextTool, textSize } from './ui/texttool.js';
import { Toolbar } from './ui/toolbar.js';
import { toast } from './ui/toast.js';
import { confirmDialog, dialogOpen, setupDialog } from './ui/dialogs.js';
import { dismissOnOutsidePress } from './ui/dismiss.js';
import { Follow } from './ui/follow.js';
import { listenForGestures } from './ui/gestures.js';
import { isPhone, onLayoutChange } from './ui/layout.js';
import { listenForPan, takesText } from './ui/pan.js';
import { fastTaps } from './ui/tap.js';
import { setupExport, setupShare } from './ui/share.js';
import { themeButton } from './ui/theme.js';
import { People, memberColor } from './ui/people.js';
import { Moderation, forgetOwnerKey, ownerKey } from './ui/moderation.js';
import { Images } from './ui/images.js';
import { History } from './ui/history.js';

const roomId = location.pathname.split('/').filter(Boolean)[1] ?? '';
// Read (and taken out of the address bar) before anything else looks at the fragment.
let owner = ownerKey(roomId);
const key = new URLSearchParams(location.hash.slice(1)).get('key');

/** @param {string} sel */
const $ = (sel) => /** @type {HTMLElement} */ (document.querySelector(sel));

/**
 * `lastSeq`: the latest seq applied (synced or committed). `gaps`: seqs of ops this page cannot
 * draw itself (fills, undos, others' shapes) whose tiles have not arrived yet. `tileSeq`: the seq
 * of the tile frames being received. The canvas is complete at `completeSeq()`, which a
 * reconnect sends as `since` to get only what changed. The members are the people panel's.
 * `editing`: whether the room takes drawing now, and if not why (an operator's lock, or a store
 * that cannot save).
 * @type {{me: number | null, role: string | null, synced: boolean, syncedSeq: number, lastSeq: number | null,
 *   gaps: number[], tileSeq: number | null, room: any, editing: {allowed: boolean, reason?: string, message?: string}}}
 */
const state = {
  me: null, role: null, synced: false, syncedSeq: 0, lastSeq: null, gaps: [], tileSeq: null, room: null,
  editing: { allowed: true },
};

/** Whether this page was ever in sync (a later disconnect is then a reconnect). */
let everSynced = false;

/** Whether this page may draw now: an editor in a room that takes drawing. */
const canDraw = () => (state.role === 'editor' || state.role === 'owner') && state.editing.allowed;

/** The seq the local canvas is complete at, or null before the first sync. */
function completeSeq() {
  if (state.lastSeq === null) return null;
  return state.gaps.length ? Math.min(state.lastSeq, state.gaps[0] - 1) : state.lastSeq;
}

const board = new Board($('.stage'));
// Phones fit the board to the screen's width (and pan for the rest); desktops show all of it.
board.fitMode = () => (isPhone() ? 'width' : 'contain');
onLayoutChange(() => board.fit());
const previews = new Previews(board);
const clearDialog = /** @type {HTMLDialogElement} */ ($('#clear-dialog'));
setupDialog(clearDialog, null);
const toolbar = new Toolbar($('.toolbar'), {
  onUndo: () => canDraw() && socket.send(proto.undo()),
  onRedo: () => canDraw() && socket.send(proto.redo()),
  onClear: async () => {
    if (!canDraw()) return;
    if (await confirmDialog(clearDialog, $('#clear')) && canDraw()) socket.send(proto.clear(pen.nextId()));
  },
});
fastTaps($('.toolbar'));
fastTaps($('.zoom'));
dismissOnOutsidePress({
  isOpen: () => toolbar.sheetOpen,
  inside: () => [$('.toolbar')],
  close: () => toolbar.openSheet(false),
});
// The percentage is of actual size: at 100% one canvas pixel is one CSS pixel.
board.onView = (/** @type {number} */ scale, /** @type {boolean} */ byUser) => {
  const level = `${Math.round(scale * 100)}%`;
  $('#zoom-fit').textContent = level;
  $('#zoom-fit').setAttribute('aria-label', `Zoom ${level}: fit to screen or actual size`);
  follow.viewChanged(byUser);
};
/** @param {number} factor */
const zoomCenter = (factor) => {
  const r = $('.stage').getBoundingClientRect();
  board.zoomAt(factor, r.left + r.width / 2, r.top + r.height / 2);
};
$('#zoom-in').addEventListener('click', () => zoomCenter(1.25));
$('#zoom-out').addEventListener('click', () => zoomCenter(0.8));
const zoomMenu = $('#zoom-menu');
/** @param {boolean} open */
const openZoomMenu = (open) => {
  zoomMenu.hidden = !open;
  $('#zoom-fit').setAttribute('aria-expanded', String(open));
  if (open) /** @type {HTMLElement} */ (zoomMenu.querySelector('[role=menuitem]')).focus();
};
$('#zoom-fit').addEventListener('click', () => openZoomMenu(zoomMenu.hidden));
dismissOnOutsidePress({ isOpen: () => !zoomMenu.hidden, inside: () => [zoomMenu, $('#zoom-fit')], close: () => openZoomMenu(false) });
$('#zoom-to-fit').addEventListener('click', () => {
  openZoomMenu(false);
  board.resetView();
});
$('#zoom-actual').addEventListener('click', () => {
  openZoomMenu(false);
  board.zoomTo(1);
});
zoomMenu.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape') return;
  e.stopPropagation();
  openZoomMenu(false);
  $('#zoom-fit').focus();
});
const openHelp = setupDialog(/** @type {HTMLDialogElement} */ ($('#help-dialog')), $('#help'));
window.addEventListener('keydown', (e) => {
  if (takesText(e.target) || e.ctrlKey || e.metaKey || e.altKey || dialogOpen()) return;
  if (e.key === '0') board.resetView();
  if (e.key === '1') board.zoomTo(1);
  if (e.key === '+' || e.key === '=') zoomCenter(1.25);
  if (e.key === '-') zoomCenter(0.8);
  if (e.key === '?') openHelp();
  if (e.key.toLowerCase() === 'y' && !e.shiftKey) openHistory(!historyPanel.isOpen);
  if (e.key === 'Escape') {
    follow.stop();
    people.open(false);
    toolbar.openSheet(false);
    openZoomMenu(false);
    historyPanel.open(false);
  }
});
themeButton(/** @type {HTMLButtonElement} */ ($('#theme')));
$('#people-toggle').addEventListener('click', () => {
  const open = !document.body.classList.contains('people-open');
  // On a phone the drawer and the history sheet would cover each other.
  if (open && isPhone()) historyPanel.open(false);
  people.open(open);
});
// On a phone the people panel is a drawer over the board: a press outside closes it.
dismissOnOutsidePress({
  isOpen: () => document.body.classList.contains('people-open') && getComputedStyle($('.people')).position !== 'static',
  inside: () => [$('.people'), $('#people-toggle')],
  close: () => people.open(false),
});
const user = userId();
const nameInput = /** @type {HTMLInputElement} */ ($('#my-name'));
nameInput.value = displayName();
nameInput.addEventListener('change', () => {
  const next = nameInput.value.trim().slice(0, 40);
  if (!next) {
    nameInput.value = displayName();
    return;
  }
  localStorage.setItem('inkroom.name', next);
  socket.send(proto.rename(next));
  // Only listed members are announced when renamed: show our own new name at once.
  const me = state.me === null ? undefined : people.members.get(state.me);
  if (me) people.updated({ ...me, name: next });
});
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/rooms/${roomId}/ws`;
const socket = new ReconnectingSocket(wsUrl);
const follow = new Follow(board, (msg) => socket.send(msg), (/** @type {number} */ id) => people.members.get(id)?.name ?? 'Guest', $('.follow-banner'));
/** @type {People} */
const people = new People($('.people'), follow, (msg) => socket.send(msg));
follow.onChange = () => people.changed();
const moderation = new Moderation({
  roomId,
  key: owner,
  send: (msg) => socket.send(msg),
  onEditKey: (next) => share.setEditKey(next),
});
people.rowActions = (m) => moderation.rowActions(m, state.me);

/**
 * The width to draw with, in canvas pixels. On a phone the width chosen is the width on screen,
 * at any zoom; on a desktop it is in canvas pixels (what 100% shows one to one).
 */
function penWidth() {
  if (!isPhone()) return toolbar.width;
  return Math.min(256, Math.max(0.5, Math.round((toolbar.width / board.scale) * 100) / 100));
}

const textTool = new TextTool({
  board,
  send: (msg) => state.synced && socket.send(msg),
  me: () => state.me,
  style: () => ({ color: toolbar.color, size: textSize(penWidth()) }),
});

let lastCursor = 0;
const pen = new Pen({
  board,
  // Drawing messages go out only in sync; the pen keeps what could not be sent.
  send: (msg) => state.synced && socket.send(msg),
  me: () => state.me,
  canDraw,
  online: () => state.synced,
  style: () => ({ tool: toolbar.tool, color: toolbar.color, width: penWidth(), fillShapes: toolbar.fillShapes }),
  onCursor: (x, y) => {
    const now = performance.now();
    if (now - lastCursor < 33 || !state.synced) return;
    lastCursor = now;
    socket.send(proto.cursor(x, y));
  },
  onRefused: () => {
    if (state.role === 'viewer') toast(proto.ERROR_TEXT.read_only, 'error');
    else if (!state.editing.allowed) toast(state.editing.message ?? proto.ERROR_TEXT.room_locked, 'error');
    else if (everSynced) toast('Reconnecting to the server; try again in a moment.', 'error');
    else toast('Not connected yet; try again in a moment.', 'error');
  },
  onText: (x, y) => textTool.press(x, y),
});
const select = new Select({
  board,
  send: (msg) => state.synced && socket.send(msg),
  tool: () => toolbar.tool,
  canDraw: () => canDraw() && state.synced,
  nextId: () => pen.nextId(),
  onRefused: () => toast(state.role === 'viewer' ? proto.ERROR_TEXT.read_only : 'Not connected; try again in a moment.', 'error'),
}, document.querySelector('.select-modes'));
toolbar.onTool = () => select.toolChanged();
bindSteadySelect(document.querySelector('#steady'));
const images = new Images({
  board,
  stage: $('.stage'),
  roomId,
  // The owner key draws too (a board created here may have no edit link in the address).
  key: () => owner ?? key,
  canDraw,
  send: (msg) => state.synced && socket.send(msg),
  nextId: () => pen.nextId(),
  onError: (text) => toast(text, 'error'),
});
$('#add-image').addEventListener('click', () => images.choose());
const restoreDialog = /** @type {HTMLDialogElement} */ ($('#restore-dialog'));
setupDialog(restoreDialog, null);
const historyPanel = new History($('.history-panel'), $('#history-toggle'), restoreDialog, {
  roomId,
  room: () => state.room,
  role: () => state.role,
  canDraw: () => canDraw() && state.synced,
  restore: (seq) => {
    const id = pen.nextId();
    return socket.send(proto.restore(id, seq)) ? id : null;
  },
});
/**
 * Opens or closes the history panel; on a phone, opening it closes the people drawer and the
 * tool sheet, which it would cover.
 * @param {boolean} open
 */
function openHistory(open) {
  if (open && isPhone()) {
    people.open(false);
    toolbar.openSheet(false);
  }
  historyPanel.open(open);
}
$('#history-toggle').addEventListener('click', () => openHistory(!historyPanel.isOpen));
// On a phone the history is a sheet over the board: a press outside closes it.
dismissOnOutsidePress({
  isOpen: () => historyPanel.isOpen && isPhone(),
  inside: () => [$('.history-panel'), $('#history-toggle'), restoreDialog],
  close: () => historyPanel.open(false),
});
const pan = listenForPan($('.stage'), board);
listenForGestures($('.stage'), board, {
  ignore: () => pen.penDown,
  onStart: () => {
    pen.cancelTouch();
    pan.cancelDrag();
  },
});

// Frames are applied strictly in order; tile images decode asynchronously, so each frame waits
// for the previous one.
let queue = Promise.resolve();
socket.addEventListener('message', (e) => {
  const data = /** @type {CustomEvent} */ (e).detail;
  queue = queue.then(() => handle(data)).catch((err) => console.error('inkroom:', err));
});
socket.addEventListener('open', () => {
  state.synced = false;
  follow.setOnline(false);
  delete document.body.dataset.synced;
  socket.send(proto.hello(displayName(), owner ?? key, user, completeSeq()));
});
socket.addEventListener('state', (e) => showState(/** @type {CustomEvent} */ (e).detail));
socket.addEventListener('close', (e) => {
  const { code } = /** @type {CustomEvent} */ (e).detail;
  state.synced = false;
  follow.setOnline(false);
  people.setOnline(false);
  pen.connectionLost();
  if (code === 4001 && owner) {
    // An owner key this board does not know: forget it and join with the edit link, if any.
    forgetOwnerKey(roomId);
    owner = null;
    socket.start();
    return;
  }
  if (code === 4001) showFatal('This edit link is not valid for this board.');
  if (code === 4003) showFatal('You were removed from this board.');
  if (code === 4009) showFatal('This board is full. Try again later.');
  if (code === 4004) showFatal('This board was deleted.');
});
socket.start();
const share = setupShare(roomId, key);
moderation.fillOwnerLink();
setupExport(roomId, () => state.room);

/**
 * Applies one frame: a tile, a message, or a `batch` of messages applied one by one, exactly as
 * if each had come alone.
 * @param {string | ArrayBuffer} data
 */
async function handle(data) {
  if (typeof data !== 'string') {
    const frame = proto.parseFrame(data);
    if (frame) {
      await board.putTile(frame);
      state.tileSeq = frame.seq;
      previews.tile(frame.seq);
      images.tile(frame.seq);
    }
    return;
  }
  if (state.tileSeq !== null) {
    // A batch of tiles ended: it covers every op up to its seq.
    const covered = state.tileSeq;
    state.gaps = state.gaps.filter((g) => g > covered);
    state.tileSeq = null;
    previews.tilesUpTo(covered);
    images.tilesUpTo(covered);
  }
  const msg = JSON.parse(data);
  if (msg.type !== 'batch') return handleMessage(msg);
  if (!Array.isArray(msg.messages)) return;
  for (const m of msg.messages) {
    // One message that fails does not take the rest of its tick with it.
    try {
      handleMessage(m);
    } catch (err) {
      console.error('inkroom:', err);
    }
  }
}

/** @param {any} msg a server message (never a batch) */
function handleMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      // Also sent again, on the same connection, to a member that fell behind: live traffic
      // waits for the next `synced`.
      state.synced = false;
      follow.setOnline(false);
      delete document.body.dataset.synced;
      state.me = msg.you;
      state.role = msg.role;
      // A read-only room says so right after the canvas.
      state.editing = { allowed: true };
      state.room = msg.room;
      previews.dropAll();
      people.welcome(msg);
      people.setOnline(true);
      if (follow.leader !== null && !people.members.has(follow.leader)) follow.stop();
      toolbar.setHistory(false, false);
      historyPanel.reconnected();
      // Strokes the pen still holds (drawn offline, or cut off) survive either way.
      if (msg.resumed) board.resume();
      else {
        board.reset(msg.room);
        select.clear();
      }
      document.body.dataset.resumed = String(Boolean(msg.resumed));
      showRoom();
      break;
    case 'synced':
      state.synced = true;
      state.syncedSeq = msg.seq;
      state.lastSeq = msg.seq;
      state.gaps = [];
      everSynced = true;
      pen.resend();
      follow.setOnline(true);
      document.body.dataset.synced = String(msg.seq);
      break;
    case 'stroke_begin':
      board.begin(`${msg.author}:${msg.stroke}`, { kind: 'stroke', tool: msg.tool, color: msg.color, width: msg.width, points: msg.points });
      break;
    case 'stroke_points':
      board.addPoints(`${msg.author}:${msg.stroke}`, msg.points);
      break;
    case 'stroke_end':
      board.end(`${msg.author}:${msg.stroke}`);
      break;
    case 'stroke_dropped':
      // Never committed: gone from the live layer, and not sent again.
      board.drop(`${msg.author}:${msg.stroke}`);
      if (msg.author === state.me) pen.dropped(msg.stroke);
      break;
    case 'shape_preview':
      if (msg.author !== state.me) previews.received(msg);
      break;
    case 'editing':
      state.editing = { allowed: Boolean(msg.allowed), reason: msg.reason, message: msg.message };
      // No shape being dragged will be committed now.
      if (!state.editing.allowed) previews.dropAll();
      showRoom();
      break;
    case 'commit':
      if (msg.op === 'image' && msg.author === state.me && msg.id != null) images.committed(msg.id, msg.seq);
      if (msg.op === 'restore' && msg.author === state.me && msg.id != null) historyPanel.committed(msg.id);
      historyPanel.seqMoved(msg.seq);
      applyCommit(msg);
      if (msg.author === state.me) moderation.committed(msg.op);
      $('.board').dataset.seq = String(msg.seq);
      break;
    case 'history':
      toolbar.setHistory(msg.can_undo, msg.can_redo);
      break;
    case 'cursors':
      for (const c of msg.cursors) {
        if (c.id === state.me) continue;
        const m = people.members.get(c.id);
        board.setCursor(c.id, m?.name ?? 'Guest', memberColor(c.id), c.x, c.y);
      }
      break;
    case 'views':
      follow.received(msg.views);
      break;
    case 'member_joined':
      people.joined(msg.member);
      break;
    case 'member_updated':
      people.updated(msg.member);
      if (msg.member.id === state.me && msg.member.role !== state.role) {
        // The owner made a new edit link: this page's edit link no longer lets it draw.
        state.role = msg.member.role;
        showRoom();
        if (state.role === 'viewer') toast('The owner made a new edit link: you can watch, not draw. Ask for the new link.', 'error');
      }
      if (msg.member.id === state.me) nameInput.value = msg.member.name;
      board.relabelCursor(msg.member.id, msg.member.name);
      follow.renamed(msg.member.id);
      break;
    case 'member_left':
      follow.left(msg.id);
      previews.drop(msg.id);
      people.left(msg.id);
      board.dropAuthor(msg.id);
      board.removeCursor(msg.id);
      break;
    case 'presence':
      people.presence(msg.editors, msg.viewers);
      break;
    case 'member_list':
      people.memberList(msg);
      break;
    case 'error':
      // An op the server could not save: drop what this page drew of it.
      if (msg.stroke != null) {
        board.drop(`${state.me}:${msg.stroke}`);
        pen.dropped(msg.stroke);
      }
      if (msg.id != null) board.drop(`${state.me}:${msg.id}`);
      if (msg.id != null) images.failed(msg.id);
      toast(historyPanel.failed(msg.id, msg.code) ?? moderation.explain(msg.code) ?? proto.ERROR_TEXT[/** @type {keyof typeof proto.ERROR_TEXT} */ (msg.code)] ?? msg.message, 'error');
      break;
    default:
      break;
  }
}

/**
 * Applies a commit: strokes (and own shapes) move from the live layer into the picture; clears
 * clear; for fills, others' shapes, undo, redo, the owner's revert and any op this page does
 * not know, the server's tiles follow.
 * @param {any} msg
 */
function applyCommit(msg) {
  // Commits at or below the synced seq are already in the tiles received on joining (or on a
  // resync after falling behind, when the pen may still hold the stroke: it landed).
  if (msg.seq <= state.syncedSeq) {
    if (msg.op === 'stroke' && msg.author === state.me) {
      pen.committed(msg.stroke);
      // A stroke sent again that the server already had: its pixels are in the tiles.
      board.drop(`${msg.author}:${msg.stroke}`);
    }
    return;
  }
  let drawn = false;
  switch (msg.op) {
    case 'stroke':
      drawn = board.commit(`${msg.author}:${msg.stroke}`, msg.seq);
      if (msg.author === state.me) pen.committed(msg.stroke);
      break;
    case 'shape':
      if (msg.author === state.me) drawn = board.commit(`${msg.author}:${msg.id}`, msg.seq);
      // Others' shapes come as tiles; their previews stay until the tiles are on screen.
      else previews.committed(msg.author, msg.seq);
      break;
    case 'text':
      // Own text moves from its preview into the picture; others' comes as tiles.
      if (msg.author === state.me) drawn = board.commit(`${msg.author}:${msg.id}`, msg.seq);
      break;
    case 'clear':
      board.apply({ kind: 'clear' }, msg.seq);
      drawn = true;
      break;
    case 'undo':
    case 'redo':
      board.setUndone(msg.target, msg.op === 'undo');
      break;
    default:
      break;
  }
  // What this page could not draw itself arrives as tiles.
  if (!drawn) state.gaps.push(msg.seq);
  state.lastSeq = msg.seq;
}

function showRoom() {
  const room = state.room;
  document.title = `${room.name} · inkroom`;
  $('.room-name').textContent = room.name;
  const editor = state.role === 'editor' || state.role === 'owner';
  moderation.update(state.role, state.editing.allowed ? undefined : state.editing.reason);
  people.changed();
  // Viewers, and everyone in a room that takes no drawing now, cannot draw: a plain drag moves
  // the view.
  const viewer = !canDraw();
  document.body.classList.toggle('is-viewer', viewer);
  board.dragPans = viewer;
  const readOnly = editor && !state.editing.allowed;
  $('.role-badge').textContent = readOnly ? 'Read-only' : viewer ? 'View only' : 'Editing';
  $('.role-badge').dataset.role = readOnly ? 'read-only' : viewer ? 'viewer' : 'editor';
  const notice = $('.readonly-notice');
  notice.hidden = state.editing.allowed;
  notice.dataset.reason = state.editing.reason ?? '';
  $('.readonly-text').textContent = state.editing.message ?? '';
  rememberBoard(roomId, room.name, key);
  historyPanel.changed();
}

/** @param {string} s */
function showState(s) {
  const el = $('.conn');
  el.dataset.state = s;
  const text = { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', closed: 'Disconnected' }[s] ?? s;
  $('.conn-text').textContent = text;
  el.title = text;
}

/** @param {string} text */
function showFatal(text) {
  const el = $('.fatal');
  el.textContent = text;
  el.hidden = false;
}

function displayName() {
  let n = localStorage.getItem('inkroom.name');
  if (!n) {
    n = `Guest ${Math.floor(100 + Math.random() * 900)}`;
    localStorage.setItem('inkroom.name', n);
  }
  return n;
}

/** A stable random id for this browser's person: undo history follows it across reconnects. */
function userId() {
  let id = localStorage.getItem('inkroom.user');
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem('inkroom.user', id);
  }
  return id;
}
