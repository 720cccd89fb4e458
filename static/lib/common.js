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

/** This browser's random device token, made once and kept: votes and reports carry it (never an identity). */
export function deviceToken() {
  let token = localStorage.getItem("alc_device");
  if (!token) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("alc_device", token);
  }
  return token;
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
