/* The report page, enhanced: position from the phone, a pin on a map, and an outbox that survives
   being offline. Without this script the same form still posts to /report. */
/* global L -- Leaflet, loaded only when the map is asked for (see "pick" below) */
import { button, deviceToken, fmt, setUpQuickExit, strings } from "../lib/common.js";

const Q = self.AlcQueue; // queue.js, a classic script: the service worker loads it too
const T = strings("i18n");
const form = document.getElementById("report-form");
const $ = (id) => document.getElementById(id);
const status = $("loc-status");
const kindLabels = {};
form.querySelectorAll(".kind").forEach((label) => {
  kindLabels[label.querySelector("input").value] = label.querySelector("span").textContent;
});
document.documentElement.classList.add("js");

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function say(text) {
  status.textContent = text;
}

function setPosition(lat, lon, accuracy) {
  form.lat.value = lat.toFixed(6);
  form.lon.value = lon.toFixed(6);
  form.accuracy_m.value = accuracy == null ? "" : Math.round(accuracy);
  if (marker) marker.setLatLng([lat, lon]);
}

// --- position -----------------------------------------------------------------------------------
$("locate").addEventListener("click", () => {
  if (!navigator.geolocation) return say(T.locateFailed);
  say(T.locating);
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      setPosition(pos.coords.latitude, pos.coords.longitude, pos.coords.accuracy);
      say(fmt(T.located, { m: Math.round(pos.coords.accuracy) }));
      if (map) map.setView([pos.coords.latitude, pos.coords.longitude], 16);
    },
    (error) => say(error.code === 1 ? T.locateDenied : T.locateFailed),
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
  );
});

// --- pin on a map (Leaflet is loaded only when asked for: it is the heaviest part of the page) ------
let map = null;
let marker = null;

function load(tag, attrs) {
  return new Promise((resolve, reject) => {
    const node = document.createElement(tag);
    Object.assign(node, attrs);
    node.onload = resolve;
    node.onerror = reject;
    document.head.appendChild(node);
  });
}

$("pick").addEventListener("click", async () => {
  const box = $("map");
  box.hidden = false;
  if (map) return;
  try {
    await Promise.all([
      load("link", { rel: "stylesheet", href: box.dataset.leafletCss }),
      load("script", { src: box.dataset.leafletJs }),
    ]);
  } catch {
    box.hidden = true;
    return say(T.mapFailed);
  }
  const [w, s, e, n] = box.dataset.bbox.split(",").map(Number);
  map = L.map(box, { zoomControl: true, attributionControl: true });
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
  } else {
    // Our own basemap; without it (a failed load) the pin still works on a plain background.
    const { basemap: url, basemapZoom: maxZoom, basemapAttribution: attribution } = box.dataset;
    Promise.all([load("script", { src: box.dataset.basemapJs }), import("../lib/basemap.js")]).then(
      ([, { vectorBasemap }]) => vectorBasemap({ url, maxZoom, attribution }).addTo(map),
      () => {},
    );
  }
  const lat = parseFloat(form.lat.value);
  const lon = parseFloat(form.lon.value);
  const start = Number.isFinite(lat) && Number.isFinite(lon) ? [lat, lon] : [(s + n) / 2, (w + e) / 2];
  if (Number.isFinite(lat)) map.setView(start, 16);
  else map.fitBounds([[s, w], [n, e]]);
  marker = L.marker(start, { draggable: true, autoPan: true }).addTo(map);
  const place = (latlng) => {
    marker.setLatLng(latlng);
    setPosition(latlng.lat, latlng.lng, null);
    say(T.picked);
  };
  marker.on("dragend", () => place(marker.getLatLng()));
  map.on("click", (event) => place(event.latlng));
});

// --- sending --------------------------------------------------------------------------------------
function collect() {
  const kind = form.querySelector("input[name=kind]:checked");
  const lat = parseFloat(form.lat.value);
  const lon = parseFloat(form.lon.value);
  const place = form.place.value.trim();
  const minutes = Number((form.querySelector("input[name=when]:checked") || { value: "0" }).value);
  const photo = form.photo.files[0] || null;
  const item = {
    client_id: newClientId(),
    kind: kind ? kind.value : "",
    observed_at: new Date(Date.now() - minutes * 60000).toISOString(),
    description: form.description.value.trim(),
    device: deviceToken(),
    created_at: new Date().toISOString(),
    state: "waiting",
    photo,
  };
  if (Number.isFinite(lat) && Number.isFinite(lon)) {
    item.location = { type: "Point", coordinates: [lon, lat] };
    if (form.accuracy_m.value) item.accuracy_m = Number(form.accuracy_m.value);
  }
  if (place) item.place = place;
  return item;
}

function resetForm() {
  form.reset();
  form.lat.value = form.lon.value = form.accuracy_m.value = "";
  say("");
}

function showSent(data) {
  $("sent-text").textContent = T.sentText;
  $("sent-link").href = `/report/status/${encodeURIComponent(data.id)}`;
  $("sent").hidden = false;
  form.hidden = true;
  $("sent").scrollIntoView({ block: "start" });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (form.website.value) return; // the honeypot: people never see it
  const item = collect();
  if (!item.kind) return say(T.needKind);
  if (!item.location && !item.place) return say(T.needPlace);
  if (item.photo && item.photo.size > 8 * 1024 * 1024) return say(T.photoTooBig);
  $("send").disabled = true;
  say(T.sending);
  try {
    await Q.put(item); // on the phone first: nothing is lost if the connection drops now
    resetForm();
    const result = await Q.send(item);
    if (result.ok) showSent(result.data);
    else if (result.rejected) say(fmt(T.rejected, { reason: result.rejected }));
    else {
      say(T.queued);
      requestSync();
    }
  } finally {
    $("send").disabled = false;
    render();
  }
});

$("again").addEventListener("click", () => {
  $("sent").hidden = true;
  form.hidden = false;
  say("");
});

// --- the outbox on this phone -------------------------------------------------------------------------
function timeLabel(iso) {
  return new Date(iso).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
}

async function render() {
  const items = await Q.all();
  const list = $("queue-list");
  list.replaceChildren();
  for (const item of items) {
    const row = document.createElement("li");
    row.className = item.state;
    row.dataset.clientId = item.client_id;
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = `${kindLabels[item.kind] || item.kind} · ${item.place || ""} ${timeLabel(item.observed_at)}`;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = item.state === "rejected" ? fmt(T.rejected, { reason: item.error }) : T.waiting;
    row.append(what, state);
    if (item.state === "rejected") {
      row.append(
        button(T.fix, "secondary", async () => {
          await Q.remove(item.client_id);
          fill(item);
          render();
        }),
        button(T.discard, "secondary", async () => {
          await Q.remove(item.client_id);
          render();
        }),
      );
    }
    list.append(row);
  }
  $("queue").hidden = items.length === 0;
}

function fill(item) {
  $("sent").hidden = true;
  form.hidden = false;
  const kind = form.querySelector(`input[name=kind][value="${item.kind}"]`);
  if (kind) kind.checked = true;
  if (item.location) setPosition(item.location.coordinates[1], item.location.coordinates[0], item.accuracy_m);
  form.place.value = item.place || "";
  form.description.value = item.description || "";
  say(fmt(T.rejected, { reason: item.error }));
  form.scrollIntoView({ block: "start" });
}

let flushing = false;
let retryDelay = 2000;
let retryTimer = null;
async function flush() {
  if (flushing) return;
  flushing = true;
  clearTimeout(retryTimer);
  try {
    const results = await Q.flush();
    const sent = results.filter(([, result]) => result.ok).length;
    if (sent) say(fmt(T.sentQueued, { n: sent }));
    const waiting = results.filter(([, result]) => result.retry);
    if (waiting.length && navigator.onLine) {
      // A flaky connection or a busy server: try again soon, backing off, honouring Retry-After.
      const after = Math.max(...waiting.map(([, result]) => result.after || 0)) * 1000;
      retryTimer = setTimeout(flush, Math.max(after, retryDelay));
      retryDelay = Math.min(retryDelay * 2, 60000);
    } else {
      retryDelay = 2000;
    }
  } finally {
    flushing = false;
    render();
  }
}

function requestSync() {
  if (navigator.serviceWorker && "SyncManager" in self) {
    navigator.serviceWorker.ready.then((reg) => reg.sync.register("alc-outbox")).catch(() => {});
  }
}

function showConnection() {
  if (!navigator.onLine) say(T.offline);
  else if (status.textContent === T.offline) say("");
}

// Going back online fires no Background Sync in every browser: the page retries on its own as well.
addEventListener("online", () => {
  showConnection();
  flush();
});
addEventListener("offline", showConnection);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && flush());
setInterval(() => navigator.onLine && flush(), 30000);

// --- quick exit: the form is emptied first -------------------------------------------------------------
setUpQuickExit(resetForm);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
showConnection();
render();
flush();
