/* Helpers shared by the pages' scripts (the map, its route check, the report page, moderation), kept here once.
 * DOM is built from nodes with textContent only: user text never goes through HTML parsing. */

export const LANG = document.documentElement.lang || "es";

/** The page's translated strings, handed over by Django's json_script in the element with this id. */
export function strings(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

/** "{name}" placeholders in a translated string replaced by values (missing ones are left as they are). */
export function fmt(text, values) {
  return text.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(text, className, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

/** A number in the page's language, with exactly `digits` decimals. */
export function number(value, digits = 0) {
  return value.toLocaleString(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const relative = {};
/** How long ago (or from now) a time in ms since the epoch is, in words: minutes, hours, then days. */
export function ago(ms, style = "long") {
  relative[style] ??= new Intl.RelativeTimeFormat(LANG, { numeric: "auto", style });
  const format = relative[style];
  const seconds = (ms - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(0, "minute");
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}

const TOKEN_KEY = "alc_device";
const TRUSTED_KEY = "alc_trusted"; // a trusted reporter's token (static/report/trusted.js), until erased
const TRUSTED_TOKEN = /^[A-Za-z0-9_-]{16,200}$/;
const OUTBOX_DB = "alcabala"; // static/report/queue.js's database

/** The trusted reporter's token this browser redeemed a moderator's code for, or null. */
export function trustedToken() {
  try {
    const token = localStorage.getItem(TRUSTED_KEY);
    return token && TRUSTED_TOKEN.test(token) ? token : null;
  } catch {
    return null; // storage disabled
  }
}

/** Keep a trusted token: from now on deviceToken() returns it instead of the day's token. */
export function keepTrustedToken(token) {
  if (TRUSTED_TOKEN.test(token)) localStorage.setItem(TRUSTED_KEY, token);
}

/** The token votes and reports carry, never an identity: a trusted reporter's token while one is kept (it does
 * not rotate: a moderator revokes it in one action), otherwise this browser's random token for today (UTC). A
 * new one is made each day, so that a token found on a seized phone matches one day's reports at most. */
export function deviceToken() {
  const trusted = trustedToken();
  if (trusted) return trusted;
  const today = new Date().toISOString().slice(0, 10);
  let kept = null;
  try {
    kept = JSON.parse(localStorage.getItem(TOKEN_KEY) || "null");
  } catch {
    kept = null; // an older plain token, or garbage: replaced below
  }
  if (kept && kept.day === today && typeof kept.token === "string") return kept.token;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  localStorage.setItem(TOKEN_KEY, JSON.stringify({ token, day: today }));
  return token;
}

/** Erase what this site keeps on the phone: the device token, the trusted token and every stored value, the
 * outbox of unsent reports, and every cached response but the neutral exit page (kept so that the quick exit
 * still works offline). Resolves when done; a caller in a hurry navigates away without waiting. */
export function forgetEverything() {
  try {
    localStorage.removeItem(TRUSTED_KEY); // first, on its own: the one value that outlives a day
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    // storage disabled: nothing was kept there
  }
  const work = [];
  if (window.indexedDB) {
    work.push(new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(OUTBOX_DB);
      request.onsuccess = request.onerror = request.onblocked = resolve; // blocked: deleted once the page goes
    }));
  }
  if (window.caches) {
    work.push(caches.keys().then((names) => Promise.all(names.map(async (name) => {
      const cache = await caches.open(name);
      const requests = await cache.keys();
      await Promise.all(requests.filter((r) => new URL(r.url).pathname !== "/exit").map((r) => cache.delete(r)));
    }))));
  }
  return Promise.allSettled(work);
}

/** The quick-exit control (templates/base.html) and a double Escape: `before()` runs (the report page empties
 * its form), what the phone keeps is erased, and the page and its history entry are replaced by the neutral
 * exit page, within a moment whatever the erasing does (what it started goes on after the page is gone). */
export function setUpQuickExit(before = () => {}) {
  const link = document.getElementById("quick-exit");
  if (!link) return;
  const leave = () => location.replace(link.href);
  const quickExit = (event) => {
    if (event) event.preventDefault();
    before();
    Promise.race([forgetEverything(), new Promise((resolve) => setTimeout(resolve, 300))]).then(leave, leave);
  };
  link.addEventListener("click", quickExit);
  let lastEscape = 0;
  addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const now = Date.now();
    if (now - lastEscape < 800) quickExit();
    lastEscape = now;
  });
}

/** fetch(), then the body read as JSON: {status, ok, headers, body}, body null when it is not JSON (a 304, an
 * HTML error page). A network failure rejects, as fetch does. */
export async function requestJson(url, init) {
  const response = await fetch(url, init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    // no JSON body: the caller goes by the status
  }
  return { status: response.status, ok: response.ok, headers: response.headers, body };
}
