/* Alcabala's live map: public incidents from the API, clustered and drawn on one canvas, kept live by polling.
 * User text (place, note) only ever reaches the page through textContent. The route check (route.js) is loaded on
 * the first tap on "Route" and works the map only through `routeHost` below. */
/* global L, Supercluster */
import { LANG, ago, deviceToken, el, fmt, requestJson, setUpQuickExit, strings } from "../lib/common.js";
import { vectorBasemap } from "../lib/basemap.js";

const box = document.getElementById("map");
const T = strings("i18n");
setUpQuickExit();
const KINDS = ["checkpoint", "roadblock", "militia", "hazard"];
const ENDED = new Set(["cleared", "expired", "rejected"]);
const styles = getComputedStyle(document.documentElement);
const COLOR = Object.fromEntries(KINDS.map((k) => [k, styles.getPropertyValue(`--${k}`).trim() || "#333"]));
const POLL_MS = Math.max(200, Number(box.dataset.pollMs) || 20000);

// --- state kept in the URL, so that a shared link shows the same view ---------------------------------------------
const query = new URLSearchParams(location.search);
const state = {
  kinds: new Set(query.has("kind") ? query.get("kind").split(",").filter((k) => KINDS.includes(k)) : KINDS),
  within: ["1", "6", "24"].includes(query.get("within")) ? Number(query.get("within")) : 0,
  verified: query.get("verified") === "1",
};

function writeUrl() {
  const q = new URLSearchParams();
  if (state.kinds.size < KINDS.length) q.set("kind", [...state.kinds].join(","));
  if (state.within) q.set("within", String(state.within));
  if (state.verified) q.set("verified", "1");
  const c = map.getCenter();
  q.set("z", String(map.getZoom()));
  q.set("lat", c.lat.toFixed(5));
  q.set("lon", c.lng.toFixed(5));
  history.replaceState(null, "", `${location.pathname}?${q}`);
  reportHere.href = `${box.dataset.report}?lat=${c.lat.toFixed(5)}&lon=${c.lng.toFixed(5)}`;
}

// --- the map --------------------------------------------------------------------------------------------------
const [w, s, e, n] = box.dataset.bbox.split(",").map(Number);
const area = L.latLngBounds([s, w], [n, e]);
const map = L.map(box, { zoomControl: false, minZoom: 4, maxZoom: 18, maxBounds: area.pad(0.5), worldCopyJump: false });
function noTiles(failed) {
  box.classList.toggle("no-tiles", failed);
  const note = document.getElementById("tiles-note");
  note.textContent = T.noTiles;
  note.hidden = !failed;
}
// Settles once the basemap has asked for its first view's tiles (at once with raster tiles, which Leaflet asks for).
let basemapAsking = Promise.resolve();
if (box.dataset.tiles) {
  // Raster tiles from MAP_TILE_URL, when the operator chose a tile server.
  const tiles = L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution });
  let tileFailures = 0;
  let tileLoads = 0;
  tiles.on("tileerror", () => {
    tileFailures += 1;
    if (tileLoads === 0 && tileFailures >= 2) noTiles(true);
  });
  tiles.on("tileload", () => {
    tileLoads += 1;
    noTiles(false);
  });
  tiles.addTo(map);
} else {
  // The default: our own vector basemap, one PMTiles archive read with range requests from this origin.
  const { basemap: url, basemapZoom: maxZoom, basemapAttribution: attribution } = box.dataset;
  const layer = vectorBasemap({ url, maxZoom, attribution }).addTo(map);
  basemapAsking = layer.asking;
  // Only an answer says the archive is missing: offline, the service worker has the ranges seen before.
  fetch(box.dataset.basemap, { method: "HEAD" }).then((r) => noTiles(!r.ok), () => {});
}
L.control.zoom({ position: "bottomright" }).addTo(map);
const lat = Number(query.get("lat"));
const lon = Number(query.get("lon"));
const zoom = Number(query.get("z"));
if (query.has("lat") && query.has("lon") && query.has("z") && area.pad(0.5).contains([lat, lon]) && zoom >= 4 && zoom <= 18) {
  map.setView([lat, lon], zoom);
} else {
  map.fitBounds(area);
}

// --- the store: every loaded incident by id -----------------------------------------------------------------------
const store = new Map(); // id -> {id, lon, lat, p}
let index = null;

function remember(id, lon, lat, p) {
  // Times are kept in ms since the epoch: filters and counts run over every incident on each move.
  store.set(id, { id, lon, lat, p });
}

function put(feature) { // a GeoJSON Feature: from the changes feed or a vote
  const [x, y] = feature.geometry.coordinates;
  const p = { ...feature.properties };
  for (const name of ["first_reported_at", "last_confirmed_at", "expires_at", "updated_at"]) p[name] = Date.parse(p[name]);
  remember(feature.id, x, y, p);
}

function putColumns(body) { // the list's compact format: one array per property (incidents/public/columns.py)
  const c = body.columns;
  const t0 = Date.parse(body.t0);
  const step = body.timeStep * 1000;
  const notes = body.notes || {};
  const flags = body.flags || {};
  for (let i = 0; i < c.id.length; i += 1) {
    const id = c.id[i];
    remember(id, c.lon[i], c.lat[i], {
      kind: body.kinds[c.kind[i]],
      status: body.statuses[c.status[i]],
      place: body.places[c.place[i]],
      first_reported_at: t0 + c.first_reported_at[i] * step,
      last_confirmed_at: t0 + c.last_confirmed_at[i] * step,
      expires_at: t0 + c.expires_at[i] * step,
      updated_at: t0 + c.updated_at[i] * step,
      reporters: c.reporters[i],
      sources: c.sources[i],
      still_there: c.still_there[i],
      gone: c.gone[i],
      confidence: c.confidence[i],
      verified: c.verified[i] === 1,
      note: notes[id] || "",
      flags: flags[id] || [],
    });
  }
}

function shown(item, now) {
  const p = item.p;
  // The status is the server's (read-time expiry included): an incident that expires leaves with the
  // tombstone the changes feed sends once the expiry job has recorded it.
  if (ENDED.has(p.status)) return false;
  if (state.verified && !p.verified) return false;
  if (state.within && now - p.last_confirmed_at > state.within * 3600e3) return false;
  return true;
}

function rebuild() {
  const now = Date.now();
  const points = [];
  // One pass over the store gives the index its points and the legend its counts (see counts()).
  const inView = viewTest();
  const total = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const item of store.values()) {
    if (!shown(item, now)) continue;
    const kind = item.p.kind;
    if (total[kind] !== undefined && inView(item)) total[kind] += 1;
    if (state.kinds.has(kind)) {
      points.push({ type: "Feature", geometry: { type: "Point", coordinates: [item.lon, item.lat] }, properties: item });
    }
  }
  index = new Supercluster({
    radius: 60,
    // Clusters up to zoom 11; closer in, a viewport holds few enough incidents to draw each one.
    maxZoom: 11,
    minZoom: 4, // the map's own minZoom: no index for zooms it never shows
    minPoints: 3,
    map: (item) => ({ checkpoint: +(item.p.kind === "checkpoint"), roadblock: +(item.p.kind === "roadblock"),
      militia: +(item.p.kind === "militia"), hazard: +(item.p.kind === "hazard") }),
    reduce: (acc, other) => { for (const k of KINDS) acc[k] += other[k]; },
  });
  index.load(points);
  if (!performance.getEntriesByName("alc:indexed").length) performance.mark("alc:indexed");
  showCounts(total);
  draw();
  refreshPopup();
}

// --- live counts: what is in view under the time and verified filters, per kind -----------------------------------
/** Whether an incident lies in the current view. Plain numbers: a LatLng per incident (bounds.contains) made counting
 * the slowest step of a 10,000-incident load on a slow phone. */
function viewTest() {
  const b = map.getBounds();
  const [west, south, east, north] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
  return ({ lat, lon }) => lat >= south && lat <= north && lon >= west && lon <= east;
}

function counts() {
  const inView = viewTest();
  const now = Date.now();
  const total = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const item of store.values()) {
    if (inView(item) && total[item.p.kind] !== undefined && shown(item, now)) total[item.p.kind] += 1;
  }
  showCounts(total);
}

function showCounts(total) {
  for (const k of KINDS) {
    const node = document.getElementById(`count-${k}`);
    node.textContent = total[k].toLocaleString(LANG);
    node.dataset.count = String(total[k]);
  }
  box.dataset.shown = String(KINDS.reduce((sum, k) => sum + (state.kinds.has(k) ? total[k] : 0), 0));
}

// --- drawing: one canvas in its own pane, redrawn on every move -------------------------------------------------
map.createPane("incidents").style.zIndex = "450";
const canvas = L.DomUtil.create("canvas", "incidents-canvas", map.getPane("incidents"));
const ctx = canvas.getContext("2d");
let hits = [];

function shape(kind, x, y, r) {
  ctx.beginPath();
  if (kind === "roadblock") ctx.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
  else if (kind === "militia") { ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r * 1.2, y); ctx.lineTo(x, y + r * 1.2); ctx.lineTo(x - r * 1.2, y); ctx.closePath(); }
  else if (kind === "hazard") { ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r * 1.15, y + r * 0.85); ctx.lineTo(x - r * 1.15, y + r * 0.85); ctx.closePath(); }
  else ctx.arc(x, y, r, 0, Math.PI * 2);
}

const BADGE_R = 6;

/** The contested badge: a dark disc with a white "!" at the mark's upper right, so that it reads without colour. */
function drawBadge(x, y) {
  ctx.beginPath();
  ctx.arc(x, y, BADGE_R, 0, Math.PI * 2);
  ctx.fillStyle = "#1d2a36";
  ctx.fill();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = "#fff";
  ctx.stroke();
  ctx.fillStyle = "#fff";
  ctx.font = "800 10px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText("!", x, y + 0.5);
  ctx.textBaseline = "alphabetic";
}

function drawIncident(p, x, y, z) {
  const r = 8;
  const contested = (p.flags || []).includes("contested");
  const color = COLOR[p.kind] || "#333";
  shape(p.kind, x, y, r);
  if (p.verified) {
    ctx.setLineDash([]);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  } else {
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fill();
    ctx.setLineDash([3, 2]);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = color;
    ctx.stroke();
    ctx.setLineDash([]);
  }
  // Confidence: an arc around the mark, a full ring at 100 %.
  const c = Math.max(0, Math.min(1, Number(p.confidence) || 0));
  if (c > 0) {
    ctx.beginPath();
    ctx.arc(x, y, r + 4.5, -Math.PI / 2, -Math.PI / 2 + c * Math.PI * 2);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "#1d2a36";
    ctx.stroke();
  }
  const badge = contested ? { x: x + r + 3, y: y - r - 3, r: BADGE_R } : null;
  if (badge) drawBadge(badge.x, badge.y);
  // Close in, the mark also says in words what its outline and badge mean, one short line each.
  const words = [...(p.verified ? [] : [T.unconfirmedShort]), ...(contested ? [T.contestedShort] : [])];
  if (z >= 12) {
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.lineWidth = 3;
    words.forEach((text, line) => {
      ctx.strokeStyle = "#fff";
      ctx.strokeText(text, x, y + r + 17 + line * 13);
      ctx.fillStyle = "#5a3b00";
      ctx.fillText(text, x, y + r + 17 + line * 13);
    });
  }
  return { r: r + 5, badge };
}

function drawCluster(props, x, y) {
  const count = props.point_count;
  const r = Math.min(24, 11 + Math.log2(count) * 1.5);
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
  ctx.fillStyle = "rgba(29,42,54,0.88)";
  ctx.fill();
  // The ring shows the share of each kind.
  let start = -Math.PI / 2;
  ctx.lineWidth = 4;
  for (const k of KINDS) {
    if (!props[k]) continue;
    const end = start + (props[k] / count) * Math.PI * 2;
    ctx.beginPath();
    ctx.arc(x, y, r - 2, start, end);
    ctx.strokeStyle = COLOR[k];
    ctx.stroke();
    start = end;
  }
  ctx.fillStyle = "#fff";
  ctx.font = "700 12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(count >= 1000 ? `${Math.round(count / 100) / 10}k` : String(count), x, y);
  ctx.textBaseline = "alphabetic";
  return r;
}

let frame = 0;
function draw() {
  if (frame) return;
  frame = requestAnimationFrame(() => { frame = 0; paint(); });
}

function paint() {
  const size = map.getSize();
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== size.x * ratio || canvas.height !== size.y * ratio) {
    canvas.width = size.x * ratio;
    canvas.height = size.y * ratio;
    canvas.style.width = `${size.x}px`;
    canvas.style.height = `${size.y}px`;
  }
  L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, size.x, size.y);
  hits = [];
  if (!index) return;
  const b = map.getBounds().pad(0.1);
  const z = Math.round(map.getZoom());
  const west = Math.max(-180, b.getWest());
  const east = Math.min(180, b.getEast());
  const items = index.getClusters([west, Math.max(-85, b.getSouth()), east, Math.min(85, b.getNorth())], z);
  for (const item of items) {
    const [x0, y0] = item.geometry.coordinates;
    const pt = map.latLngToContainerPoint([y0, x0]);
    if (item.properties.cluster) {
      hits.push({ x: pt.x, y: pt.y, r: drawCluster(item.properties, pt.x, pt.y), cluster: item.properties.cluster_id, at: [y0, x0] });
    } else {
      const it = item.properties;
      const { r, badge } = drawIncident(it.p, pt.x, pt.y, z);
      hits.push({ x: pt.x, y: pt.y, r, id: it.id, badge });
    }
  }
  box.dataset.drawn = String(items.length);
  // For bench/map_page.py: when the loaded incidents were first on screen.
  if (store.size && !performance.getEntriesByName("alc:incidents-drawn").length) performance.mark("alc:incidents-drawn");
}

map.on("move", draw);
map.on("zoomstart", () => { canvas.style.visibility = "hidden"; });
map.on("zoomend", () => { canvas.style.visibility = ""; draw(); });
map.on("resize", draw);
map.on("moveend", () => { counts(); writeUrl(); ensureLoaded(); });

function hitAt(point) {
  let best = null;
  let bestD = Infinity;
  for (const h of hits) {
    const d = Math.hypot(h.x - point.x, h.y - point.y);
    if (d <= h.r + 6 && d < bestD) { best = h; bestD = d; }
  }
  return best;
}

let tapTaker = null; // while set, the next tap on the map is a point for the route check (routeHost.takeTap)
map.on("click", (event) => {
  if (tapTaker) { tapTaker({ lat: event.latlng.lat, lon: event.latlng.lng }); return; } // a point, not an incident
  const h = hitAt(event.containerPoint);
  if (!h) return;
  if (h.cluster !== undefined) {
    map.setView(h.at, Math.min(index.getClusterExpansionZoom(h.cluster), 18));
  } else {
    openIncident(h.id);
  }
});
map.on("mousemove", (event) => { box.style.cursor = hitAt(event.containerPoint) ? "pointer" : ""; });

// --- popups, built from DOM nodes --------------------------------------------------------------------------------
let popup = null;
let popupId = null;

function popupContent(item) {
  const p = item.p;
  const root = el("div", "pop");
  root.dataset.id = String(item.id);
  root.append(el("h3", "", T[`kind.${p.kind}`] || p.kind));
  root.append(el("p", "place", p.place || T.noPlace));
  root.append(el("p", `st ${p.verified ? "ok" : "unconf"}`, p.verified ? T.verified : T.unconfirmed));
  if (p.flags?.length) {
    const list = el("ul", "flags");
    for (const name of p.flags) {
      const line = el("li", `flag flag-${name}`);
      if (name === "contested") {
        const badge = el("span", "badge", "!"); // the map's mark for it; the words follow
        badge.setAttribute("aria-hidden", "true");
        line.append(badge);
      }
      line.append(el("span", "text", T[`flag.${name}`] || name));
      list.append(line);
    }
    root.append(list);
  }
  const pct = Math.round((Number(p.confidence) || 0) * 100);
  root.append(el("p", "confidence", fmt(T.confidence, { pct })));
  const meter = el("meter");
  meter.min = 0;
  meter.max = 100;
  meter.value = pct;
  meter.setAttribute("aria-hidden", "true");
  root.append(meter);
  root.append(el("p", "why", T.confidenceWhy));
  const sources = Number(p.sources) || 0;
  root.append(el("p", "sources", fmt(sources === 1 ? T.sourcesOne : T.sources, { n: sources.toLocaleString(LANG) })));
  root.append(el("p", "muted", fmt(T.reporters, { n: p.reporters })));
  root.append(el("p", "muted", fmt(T.firstReport, { when: ago(p.first_reported_at) })));
  root.append(el("p", "muted", fmt(T.lastReport, { when: ago(p.last_confirmed_at) })));
  root.append(el("p", "muted", fmt(T.votes, { yes: p.still_there, no: p.gone })));
  if (p.note) {
    root.append(el("p", "note-title", T.note));
    root.append(el("p", "note", p.note));
  }
  const votes = el("div", "votes");
  const yes = el("button", "secondary vote-yes", T.stillThere);
  const no = el("button", "secondary vote-no", T.gone);
  yes.type = no.type = "button";
  const msg = el("p", "msg");
  msg.setAttribute("role", "status");
  yes.addEventListener("click", () => vote(item.id, true, msg, [yes, no]));
  no.addEventListener("click", () => vote(item.id, false, msg, [yes, no]));
  votes.append(yes, no);
  root.append(votes, msg);
  const here = el("a", "button report-here", T.reportHere);
  here.href = `${box.dataset.report}?lat=${item.lat.toFixed(5)}&lon=${item.lon.toFixed(5)}`;
  root.append(here);
  return root;
}

function openIncident(id) {
  const item = store.get(id);
  if (!item) return;
  popupId = id;
  popup = L.popup({ maxWidth: 280, autoPanPadding: [20, 60] })
    .setLatLng([item.lat, item.lon])
    .setContent(popupContent(item))
    .openOn(map);
}

map.on("popupclose", (event) => { if (event.popup === popup) { popup = null; popupId = null; } });

function refreshPopup() {
  if (popupId === null) return;
  const item = store.get(popupId);
  if (!item || !shown(item, Date.now())) { map.closePopup(popup); return; }
  const msg = popup.getElement()?.querySelector(".msg")?.textContent || "";
  popup.setLatLng([item.lat, item.lon]).setContent(popupContent(item));
  const node = popup.getElement()?.querySelector(".msg");
  if (node) node.textContent = msg;
}

async function vote(id, stillThere, msg, buttons) {
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const response = await requestJson(box.dataset.votes.replace("/0/", `/${id}/`), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/geo+json, application/json" },
      body: JSON.stringify({ still_there: stillThere, device: deviceToken() }),
      credentials: "same-origin",
      referrerPolicy: "origin", // a real Origin, not null, for browsers without Sec-Fetch-Site (see queue.js)
    });
    if (response.status === 201) {
      put(response.body);
      rebuild();
      const node = popup?.getElement()?.querySelector(".msg");
      (node || msg).textContent = T.voted;
      return;
    }
    msg.textContent = response.status === 409 ? T.voteEnded : response.status === 429 ? T.voteBusy : T.voteFailed;
  } catch {
    msg.textContent = T.voteFailed;
  }
  buttons.forEach((b) => { b.disabled = false; });
}

// Long press (or right click): report at that point.
map.on("contextmenu", (event) => {
  const link = el("a", "button report-here", T.reportHere);
  link.href = `${box.dataset.report}?lat=${event.latlng.lat.toFixed(5)}&lon=${event.latlng.lng.toFixed(5)}`;
  L.popup().setLatLng(event.latlng).setContent(link).openOn(map);
});

// --- loading ------------------------------------------------------------------------------------------------------
// Framed on the whole area, the page loads every live incident from the list in one request (the HTML has told the
// browser to start it already). Opened zoomed in (a shared link, a phone zoomed on its town), it loads only the
// viewport and a margin, by bbox, and again when the view leaves what it has; zooming out to the whole area
// loads it all once. Either way the changes feed then keeps the store current from the page's starting cursor.
const PAGE = 10000;
const api = box.dataset.api;
const changes = box.dataset.changes;
let complete = false; // the whole area is loaded: moving the map fetches nothing more
let loaded = null; // the bounds whose live incidents are all in the store
let generation = 0;
let cursor = box.dataset.cursor || null;
let etag = null; // of the last answer to the poll of `cursor`, sent back as If-None-Match
let etagFor = null;

function bboxParam(b) {
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
}

function clip(b) {
  return L.latLngBounds(
    [Math.max(b.getSouth(), area.getSouth()), Math.max(b.getWest(), area.getWest())],
    [Math.min(b.getNorth(), area.getNorth()), Math.min(b.getEast(), area.getEast())],
  );
}

/** The list's pages, and when the oldest of them was fetched: now, or offline when the service worker stored it. */
async function fetchList(url) {
  const bodies = [];
  let stored = Infinity;
  while (url) {
    // A plain GET, so that the first one is the request the HTML preloaded.
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    if (response.headers.has("X-Alc-Stored")) stored = Math.min(stored, Number(response.headers.get("X-Alc-Stored")));
    bodies.push(body);
    const next = (body.links || []).find((link) => link.rel === "next");
    url = next ? next.href : null;
  }
  bodies.stored = Number.isFinite(stored) ? stored : 0;
  return bodies;
}

async function ensureLoaded() {
  if (complete) return;
  const view = map.getBounds();
  if (loaded && loaded.contains(clip(view))) return;
  const want = clip(view.pad(0.5));
  const whole = want.contains(area);
  const mine = ++generation;
  const started = Date.now();
  if (mine === 1) {
    // Parsing and indexing 10,000 incidents hold the main thread for a long while on a slow phone: let the basemap ask
    // for its tiles first (its header was read early, basemap-head.js), so that their round trip overlaps that work
    // instead of following it. Bounded, for an archive that does not answer.
    await Promise.race([basemapAsking, new Promise((resolve) => { setTimeout(resolve, 300); })]);
  }
  try {
    const list = `${api}?limit=${PAGE}&format=columns`;
    const bodies = await fetchList(whole ? list : `${list}&bbox=${bboxParam(want)}`);
    if (mine !== generation) return;
    performance.mark("alc:incidents-received");
    // What lies outside the new viewport is dropped: memory follows the view, not the whole map.
    store.clear();
    bodies.forEach(putColumns);
    loaded = whole ? area : want;
    complete = whole;
    markFresh(bodies.stored || started);
    rebuild();
  } catch {
    if (mine === generation) setLive(false);
  }
}

// --- live: every POLL_MS, and as soon as the page regains focus or the network; If-None-Match makes a quiet poll a 304
let lastFresh = 0;
let timer = 0;
let polling = false;
const live = document.getElementById("live");

function markFresh(at) {
  lastFresh = at || Date.now();
  setLive(true);
}

function age() {
  const seconds = Math.max(0, Math.round((Date.now() - lastFresh) / 1000));
  return seconds < 120 ? fmt(T.updated, { n: seconds }) : fmt(T.updatedMin, { n: Math.round(seconds / 60) });
}

function setLive(ok) {
  if (!navigator.onLine) {
    live.textContent = lastFresh ? `${T.offline} · ${age()}` : T.offline;
    live.classList.add("offline");
    box.dataset.live = "offline";
    return;
  }
  live.classList.toggle("offline", !ok);
  box.dataset.live = ok ? "ok" : "failed";
  live.textContent = ok ? age() : T.failed;
}

function apply(features, tombstones) {
  let changed = false;
  for (const feature of features || []) {
    if (ENDED.has(feature.properties?.status)) { changed = store.delete(feature.id) || changed; continue; }
    put(feature); // an addition, an update or a move: the same id with its latest state
    changed = true;
  }
  for (const gone of tombstones || []) changed = store.delete(gone.id) || changed;
  return changed;
}

async function pollChanges() {
  let changed = false;
  for (;;) {
    const url = `${changes}?limit=${PAGE}${cursor ? `&since=${encodeURIComponent(cursor)}` : ""}`;
    const headers = { Accept: "application/geo+json, application/json" };
    if (etag && etagFor === url) headers["If-None-Match"] = etag;
    const response = await fetch(url, { headers, cache: "no-store" });
    if (response.status === 304) {
      box.dataset.notModified = String(Number(box.dataset.notModified || 0) + 1);
      return changed;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    changed = apply(body.features, body.tombstones) || changed;
    cursor = body.next;
    etag = response.headers.get("ETag");
    etagFor = `${changes}?limit=${PAGE}&since=${encodeURIComponent(cursor)}`;
    if (!body.more) return changed;
  }
}

async function poll() {
  if (polling) return;
  clearTimeout(timer);
  polling = true;
  const started = Date.now();
  try {
    if (!loaded) {
      await ensureLoaded(); // the first load failed (offline at start): try it again
    } else if (changes) {
      if (await pollChanges()) rebuild();
      markFresh(started);
    }
  } catch {
    setLive(false);
  } finally {
    box.dataset.polls = String(Number(box.dataset.polls || 0) + 1);
    polling = false;
    timer = setTimeout(poll, POLL_MS);
  }
}

window.addEventListener("focus", poll);
window.addEventListener("online", () => { setLive(true); poll(); });
window.addEventListener("offline", () => setLive(false));
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") poll(); });
setInterval(() => { if (lastFresh && box.dataset.live !== "failed") setLive(true); }, 1000);

// --- filters and tools ---------------------------------------------------------------------------------------------
const reportHere = document.getElementById("report-here");
for (const input of document.querySelectorAll('input[name="kind"]')) {
  input.checked = state.kinds.has(input.value);
  input.addEventListener("change", () => {
    if (input.checked) state.kinds.add(input.value);
    else state.kinds.delete(input.value);
    writeUrl();
    rebuild();
  });
}
const within = document.getElementById("within");
within.value = state.within ? String(state.within) : "";
within.addEventListener("change", () => { state.within = Number(within.value) || 0; writeUrl(); rebuild(); });
const verifiedOnly = document.getElementById("verified-only");
verifiedOnly.checked = state.verified;
verifiedOnly.addEventListener("change", () => { state.verified = verifiedOnly.checked; writeUrl(); rebuild(); });
if (window.matchMedia("(min-width: 700px)").matches) document.getElementById("layers").open = true;

let me = null;
document.getElementById("locate").addEventListener("click", () => {
  if (!navigator.geolocation) { live.textContent = T.locateFailed; return; }
  navigator.geolocation.getCurrentPosition(
    (position) => {
      const at = [position.coords.latitude, position.coords.longitude];
      if (me) me.remove();
      me = L.circle(at, { radius: Math.max(position.coords.accuracy, 20), color: "#2e86de", weight: 2, fillOpacity: 0.15 }).addTo(map);
      map.setView(at, Math.max(map.getZoom(), 14));
    },
    () => { live.textContent = T.locateFailed; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});

// --- the route check's handle on the map ----------------------------------------------------------------------------
// route.js gets this object from start(routeHost) and nothing else of the map: these few operations are the whole
// interface between the two scripts.
const routeHost = Object.freeze({
  /** Show a Leaflet layer (the route, its corridor, its points) on the map, or take it off. */
  addLayer(layer) { layer.addTo(map); },
  removeLayer(layer) { layer.remove(); },
  /** The next tap on the map as {lat, lon}, opening nothing; null if `signal` aborts first or another call takes over. */
  takeTap(signal) {
    tapTaker?.(null);
    return new Promise((resolve) => {
      const take = (point) => {
        if (tapTaker === take) tapTaker = null;
        signal?.removeEventListener("abort", cancel);
        resolve(point);
      };
      const cancel = () => take(null);
      tapTaker = take;
      if (signal?.aborted) cancel();
      else signal?.addEventListener("abort", cancel);
    });
  },
  /** Frame these [lat, lon] points, keeping `topLeft` and `bottomRight` ([x, y] in px) clear for what covers the map. */
  frame(latlngs, { topLeft, bottomRight }) {
    map.fitBounds(L.latLngBounds(latlngs), { paddingTopLeft: topLeft, paddingBottomRight: bottomRight, maxZoom: 15 });
  },
  /** Centre on an incident, zoomed in to at least 13, and open its popup. */
  showIncident(id, lat, lon) {
    map.setView([lat, lon], Math.max(map.getZoom(), 13));
    openIncident(id);
  },
  /** Metres per CSS pixel at the map's centre (Web Mercator); `onZoom` calls back when that changes. */
  metresPerPixel() {
    return (40075016.686 * Math.cos((map.getCenter().lat * Math.PI) / 180)) / 2 ** (map.getZoom() + 8);
  },
  onZoom(callback) { map.on("zoomend", callback); },
});

// route.js loads on the first tap on "Route": the map draws without waiting for it. The page ships the button hidden,
// since without scripts it would do nothing.
const routeOpen = document.getElementById("route-open");
if (routeOpen) {
  let route = null; // route.js's panel, once loaded
  routeOpen.hidden = false;
  routeOpen.addEventListener("click", async () => {
    // If it does not load (offline), the next tap tries again.
    route ??= import(routeOpen.dataset.script).then((module) => module.start(routeHost), () => { route = null; });
    (await route)?.toggle();
  });
}

// For the console, the browser tests and bench/map_page.py: read-only views of what the page holds. No script of the
// page reads it: route.js has routeHost.
window.alcabalaMap = Object.freeze({ map, store, open: openIncident, poll, hits: () => hits });

writeUrl();
ensureLoaded().then(() => { timer = setTimeout(poll, POLL_MS); });
// The worker (static/report/sw.js) keeps this page, the last incidents and the basemap seen, for offline use.
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
