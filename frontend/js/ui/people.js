// The people panel (a drawer on narrow screens): who is here and how many. The server names
// every editor and the first viewers ("listed" members); the other viewers are only counted
// (`presence`). The panel shows the listed members, the true counts and "and N more viewers";
// "Show all viewers" pages through everyone with `list_members`, keeping only a few pages in the
// DOM. Updates are drawn at most once per animation frame, however many messages arrive.

import * as proto from '../net/protocol.js';

/** Pages of `member_list` (100 members each) kept in the DOM; older ones leave from the top. */
const MAX_PAGES = 3;

/** @typedef {{id: number, name: string, role: string}} Member */

const number = new Intl.NumberFormat();
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** @param {number} id */
export function memberColor(id) {
  return `hsl(${(id * 137) % 360} 70% 45%)`;
}

export class People {
  /** Listed members by id (and this page's own member, listed or not). @type {Map<number, Member>} */
  members = new Map();
  /** This page's member id. @type {number | null} */
  me = null;
  /** Editors and viewers in the room, from `welcome` and `presence`. */
  #counts = { editors: 0, viewers: 0 };
  #root;
  #follow;
  #send;
  /** @type {{list: boolean, frame: number}} */
  #pending = { list: false, frame: 0 };
  /** Pages of everyone shown (at most MAX_PAGES). @type {Member[][]} */
  #pages = [];
  /** Rows dropped from the top of "everyone". */
  #dropped = 0;
  /** The `after` of the next page; null when the last page is shown. @type {number | null} */
  #next = null;
  /** A `list_members` is on its way. */
  #loading = false;
  /** Extra buttons on a listed person's row (the owner's Remove). @type {(m: Member) => HTMLElement[]} */
  rowActions = () => [];

  /**
   * @param {HTMLElement} root the `.people` panel
   * @param {import('./follow.js').Follow} follow
   * @param {(msg: object) => boolean} send
   */
  constructor(root, follow, send) {
    this.#root = root;
    this.#follow = follow;
    this.#send = send;
    this.#el('.show-all').addEventListener('click', () => this.#showEveryone(true));
    this.#el('.everyone-back').addEventListener('click', () => this.#showEveryone(false));
    this.#el('.everyone-more').addEventListener('click', () => this.#request());
    this.#el('.everyone-restart').addEventListener('click', () => this.#restart());
  }

  /**
   * Connected (true) or not (false): while the server is away the list is greyed out and says
   * it is reconnecting, since who is here may change meanwhile.
   * @param {boolean} online
   */
  setOnline(online) {
    this.#root.classList.toggle('offline', !online);
    this.#el('.people-offline').hidden = online;
    this.#root.setAttribute('aria-busy', String(!online));
  }

  /** Opens or closes the panel (a drawer on narrow screens). @param {boolean} open */
  open(open) {
    document.body.classList.toggle('people-open', open);
    document.querySelector('#people-toggle')?.setAttribute('aria-expanded', String(open));
  }

  /** A `welcome`: the members and counts start over. @param {any} msg */
  welcome(msg) {
    this.me = msg.you;
    this.members = new Map(msg.members.map((/** @type {Member} */ m) => [m.id, m]));
    const listed = this.#listedCounts();
    this.#counts = { editors: listed.editors, viewers: typeof msg.viewers === 'number' ? msg.viewers : listed.viewers };
    // A page asked for before a reconnect or resync was never answered.
    if (this.#loading) {
      this.#loading = false;
      this.#request();
    }
    this.changed();
  }

  /** @param {Member} m */
  joined(m) {
    this.members.set(m.id, m);
    this.changed();
  }

  /** @param {Member} m */
  updated(m) {
    if (this.members.has(m.id) || m.id === this.me) this.members.set(m.id, m);
    this.changed();
  }

  /** @param {number} id */
  left(id) {
    this.members.delete(id);
    this.changed();
  }

  /** A `presence`: the true counts. @param {number} editors @param {number} viewers */
  presence(editors, viewers) {
    this.#counts = { editors, viewers };
    this.#schedule(false);
  }

  /** A `member_list` page. @param {any} msg */
  memberList(msg) {
    if (!this.#loading || !Array.isArray(msg.members)) return;
    this.#loading = false;
    this.#next = typeof msg.next === 'number' ? msg.next : null;
    this.#addPage(msg.members);
  }

  /** The listed members or following changed: redraw the list (once per frame). */
  changed() {
    this.#schedule(true);
  }

  /** Everyone in the room, counted as the server counts (never fewer than are listed). */
  total() {
    const listed = this.#listedCounts();
    return Math.max(this.#counts.editors, listed.editors) + Math.max(this.#counts.viewers, listed.viewers);
  }

  #listedCounts() {
    let editors = 0;
    for (const m of this.members.values()) if (m.role !== 'viewer') editors += 1;
    return { editors, viewers: this.members.size - editors };
  }

  /** @param {boolean} list */
  #schedule(list) {
    this.#pending.list ||= list;
    if (this.#pending.frame) return;
    this.#pending.frame = requestAnimationFrame(() => {
      const redrawList = this.#pending.list;
      this.#pending = { list: false, frame: 0 };
      if (redrawList) this.#renderList();
      this.#renderCounts();
    });
  }

  #renderCounts() {
    const listed = this.#listedCounts();
    const editors = Math.max(this.#counts.editors, listed.editors);
    const viewers = Math.max(this.#counts.viewers, listed.viewers);
    for (const el of document.querySelectorAll('.member-count')) {
      // The top bar's badge is short ("5.2K"); its button's title has the exact number.
      const short = el.closest('#people-toggle');
      setText(el, (short ? compact : number).format(editors + viewers));
      short?.setAttribute('title', `People: ${number.format(editors + viewers)}`);
    }
    setText(this.#el('.presence-line'), `${plural(editors, 'editor')} · ${plural(viewers, 'viewer')}`);
    const more = viewers - listed.viewers;
    this.#el('.people-more').hidden = more <= 0;
    setText(this.#el('.more-viewers'), `and ${plural(more, 'more viewer')}`);
    if (!this.#el('.everyone').hidden) this.#renderRange();
  }

  /** The listed members: you first, then editors, then viewers, each in joining order. */
  #renderList() {
    const rank = (/** @type {Member} */ m) => (m.id === this.me ? 0 : m.role !== 'viewer' ? 1 : 2);
    const sorted = [...this.members.values()].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
    this.#el('.members').replaceChildren(...sorted.map((m) => this.#row(m, true)));
  }

  /**
   * One person: a color dot, the name, a viewer tag and (for listed others) a Follow button.
   * @param {Member} m
   * @param {boolean} followable
   */
  #row(m, followable) {
    const li = document.createElement('li');
    li.style.setProperty('--member-color', memberColor(m.id));
    li.dataset.member = String(m.id);
    const name = document.createElement('span');
    name.className = 'member-name';
    name.textContent = m.id === this.me ? `${m.name} (you)` : m.name;
    name.title = `${m.name}: ${m.role === 'owner' ? 'owner' : m.role === 'editor' ? 'can draw' : 'view only'}`;
    li.append(name);
    if (m.role !== 'editor') {
      const tag = document.createElement('span');
      tag.className = 'member-tag';
      tag.textContent = m.role === 'owner' ? 'owner' : 'viewer';
      li.append(tag);
    }
    if (followable && m.id !== this.me) {
      const following = this.#follow.leader === m.id;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn follow';
      b.textContent = following ? 'Stop' : 'Follow';
      b.setAttribute('aria-pressed', String(following));
      b.setAttribute('aria-label', following ? `Stop following ${m.name}` : `Follow ${m.name}'s view`);
      b.addEventListener('click', () => {
        if (following) this.#follow.stop();
        else {
          this.#follow.start(m.id);
          this.open(false);
        }
      });
      li.append(b);
    }
    if (followable) li.append(...this.rowActions(m));
    return li;
  }

  /** Switches between the listed members and everyone, page by page. @param {boolean} on */
  #showEveryone(on) {
    this.#el('.people-listed').hidden = on;
    this.#el('.everyone').hidden = !on;
    if (on) {
      this.#restart();
      this.#el('.everyone-title').focus();
    } else {
      this.#loading = false;
      this.#pages = [];
      this.#el('.everyone-list').replaceChildren();
      const showAll = this.#el('.show-all');
      (this.#el('.people-more').hidden ? this.#el('.people-title') : showAll).focus();
    }
  }

  /** Empties "everyone" and asks for its first page. */
  #restart() {
    this.#pages = [];
    this.#dropped = 0;
    this.#next = null;
    this.#loading = false;
    this.#el('.everyone-list').replaceChildren();
    this.#request();
    this.#renderRange();
  }

  /** Asks for the next page of everyone (one request at a time). */
  #request() {
    if (this.#loading) return;
    this.#loading = this.#send(proto.listMembers(this.#pages.length ? this.#next : null));
    this.#renderRange();
  }

  /**
   * Appends a page; past MAX_PAGES the oldest leaves the top, and the view stays where it was.
   * @param {Member[]} page
   */
  #addPage(page) {
    const list = this.#el('.everyone-list');
    const anchor = list.lastElementChild;
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    this.#pages.push(page);
    list.append(...page.map((m) => this.#row(m, false)));
    if (this.#pages.length > MAX_PAGES) {
      const old = /** @type {Member[]} */ (this.#pages.shift());
      this.#dropped += old.length;
      for (let i = 0; i < old.length; i++) list.firstElementChild?.remove();
    }
    const more = this.#el('.everyone-more');
    const hadFocus = document.activeElement === more;
    this.#renderRange();
    if (anchor) this.#root.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    if (hadFocus && more.hidden) this.#el('.everyone-title').focus();
  }

  /** "People 101–400 of 5,001", the Load more and back-to-start buttons. */
  #renderRange() {
    const rows = this.#pages.reduce((n, p) => n + p.length, 0);
    const range = this.#el('.everyone-range');
    const total = number.format(Math.max(this.total(), this.#dropped + rows));
    setText(range, rows === 0
      ? (this.#loading ? 'Loading…' : 'Nobody to show.')
      : `Showing ${number.format(this.#dropped + 1)}–${number.format(this.#dropped + rows)} of ${total}`);
    const more = /** @type {HTMLButtonElement} */ (this.#el('.everyone-more'));
    more.hidden = rows === 0 || this.#next === null;
    more.disabled = this.#loading;
    more.setAttribute('aria-busy', String(this.#loading));
    more.textContent = this.#loading ? 'Loading…' : 'Load more';
    this.#el('.everyone-restart').hidden = this.#dropped === 0;
  }

  /** @param {string} sel */
  #el(sel) {
    return /** @type {HTMLElement} */ (this.#root.querySelector(sel));
  }
}

/** Changes an element's text only when it differs (counts are redrawn often). @param {Element} el @param {string} text */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** "1 viewer", "4,950 viewers". @param {number} n @param {string} word */
function plural(n, word) {
  return `${number.format(n)} ${word}${n === 1 ? '' : 's'}`;
}
