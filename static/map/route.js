/* The map's route check: "is there a checkpoint on my way?" (issue 9).
 * Start and end (and stops) come from a tap on the map, a place name, or the phone's position; or a GPX or
 * GeoJSON line is pasted or uploaded. The server (POST /api/v1/route-check) answers the active incidents
 * within the corridor in order along the route. Without a routing engine the route is the straight legs
 * between the chosen points, and the panel says so. User text only ever reaches the page via textContent.
 *
 * map.js imports this module on the first tap on "Route" and calls start(routeHost) once: routeHost is the only
 * way this script reaches the map. start() returns {toggle}, which map.js calls on every tap on "Route". */
/* global L */
import { ago, button, el, fmt, number, requestJson, strings } from "../lib/common.js";

const panel = document.getElementById("route");
const T = strings("route-i18n");

// --- state ------------------------------------------------------------------------------------------------------
// points: [{lat, lon, label} | null, ...]: the start, any stops, the end. file: a pasted or uploaded line, which
// replaces the points while it is there. picking: the AbortController of the tap being waited for, if any.
const state = { points: [null, null], file: null, picking: null, seq: 0 };
const status = document.getElementById("route-status");
const list = document.getElementById("route-results");
const corridor = document.getElementById("route-corridor");
const opener = document.getElementById("route-open");
const cancel = button(T.cancel, "secondary small cancel", () => { stopPicking(); status.textContent = ""; });
let host = null; // map.js's routeHost: the map, as far as this script may use it
let layer = null;
let corridorLine = null;

function nameOf(index) {
  if (index === 0) return T.start;
  if (index === state.points.length - 1) return T.end;
  return fmt(T.stop, { n: index });
}

// --- the list of points -----------------------------------------------------------------------------------------

function renderPoints() {
  const root = document.getElementById("route-points");
  root.replaceChildren();
  state.points.forEach((point, index) => {
    const item = el("li", "route-point");
    item.dataset.index = String(index);
    const head = el("div", "route-point-head");
    head.append(el("strong", "", nameOf(index)));
    head.append(el("span", point ? "chosen" : "chosen muted", point ? point.label : T.notSet));
    if (index > 0 && index < state.points.length - 1) {
      head.append(button(T.remove, "secondary small", () => { state.points.splice(index, 1); changed(); }));
    }
    item.append(head);
    const form = el("form", "route-search");
    const input = el("input");
    input.type = "search";
    input.name = "q";
    input.autocomplete = "off";
    input.placeholder = T.placeholder;
    input.setAttribute("aria-label", `${nameOf(index)}: ${T.placeholder}`);
    const find = el("button", "secondary small", T.find);
    find.type = "submit";
    form.append(input, find);
    const found = el("ul", "route-found");
    form.addEventListener("submit", (event) => { event.preventDefault(); search(input.value, index, found); });
    item.append(form, found);
    const tools = el("div", "route-point-tools");
    tools.append(button(T.onMap, "secondary small pick", () => startPicking(index)));
    if (index === 0) tools.append(button(T.myPosition, "secondary small locate-start", () => locate(index)));
    item.append(tools);
    root.append(item);
  });
}

function setPoint(index, lat, lon, label) {
  state.points[index] = { lat, lon, label };
  state.file = null;
  changed();
}

async function search(text, index, found) {
  const q = text.trim();
  found.replaceChildren();
  if (q.length < 2) return;
  status.textContent = T.searching;
  try {
    const response = await requestJson(`${panel.dataset.places}?${new URLSearchParams({ q, limit: "6" })}`);
    const body = response.body;
    if (!response.ok || !body) { status.textContent = fmt(T.failed, { detail: body?.detail || response.status }); return; }
    if (!body.features.length) { status.textContent = fmt(T.noPlace, { q }); return; }
    if (body.features.length === 1) {
      const [lon, lat] = body.features[0].geometry.coordinates;
      status.textContent = "";
      setPoint(index, lat, lon, body.features[0].properties.label);
      return;
    }
    status.textContent = T.choose;
    for (const place of body.features) {
      const [lon, lat] = place.geometry.coordinates;
      const item = el("li");
      item.append(button(place.properties.label, "secondary small", () => {
        status.textContent = "";
        setPoint(index, lat, lon, place.properties.label);
      }));
      found.append(item);
    }
  } catch {
    status.textContent = T.unreachable;
  }
}

function locate(index) {
  if (!navigator.geolocation) { status.textContent = T.locateFailed; return; }
  status.textContent = T.locating;
  navigator.geolocation.getCurrentPosition(
    (position) => { status.textContent = ""; setPoint(index, position.coords.latitude, position.coords.longitude, T.located); },
    () => { status.textContent = T.locateFailed; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

async function startPicking(index) {
  stopPicking();
  const picking = new AbortController();
  state.picking = picking;
  panel.classList.add("picking");
  status.textContent = fmt(T.tapMap, { what: nameOf(index) });
  cancel.hidden = false;
  const point = await host.takeTap(picking.signal);
  if (!point) return; // cancelled, the panel closed, or another point is being picked now
  stopPicking();
  setPoint(index, point.lat, point.lon, fmt(T.picked, { lat: point.lat.toFixed(4), lon: point.lon.toFixed(4) }));
}

function stopPicking() {
  state.picking?.abort();
  state.picking = null;
  panel.classList.remove("picking");
  cancel.hidden = true;
}

// --- drawing ----------------------------------------------------------------------------------------------------

function corridorWeight() {
  // Pixels across 2 × corridor, never thinner than the route itself.
  return Math.max(6, (2 * Number(corridor.value)) / host.metresPerPixel());
}

function draw(latlngs) {
  layer.clearLayers();
  corridorLine = null;
  state.points.forEach((point, index) => {
    if (!point) return;
    L.circleMarker([point.lat, point.lon], { radius: 7, color: "#17212b", weight: 2, fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(nameOf(index))
      .addTo(layer);
  });
  if (latlngs.length < 2) return;
  corridorLine = L.polyline(latlngs, {
    color: "#2e86de", opacity: 0.2, weight: corridorWeight(), lineCap: "round", lineJoin: "round", interactive: false,
  }).addTo(layer);
  L.polyline(latlngs, { color: "#1b4f72", weight: 3, dashArray: state.file ? null : "8 6", interactive: false }).addTo(layer);
}

// --- checking ---------------------------------------------------------------------------------------------------

function chosen() {
  return state.points.filter(Boolean);
}

function changed() {
  renderPoints();
  const points = chosen();
  draw(points.map((p) => [p.lat, p.lon]));
  list.replaceChildren();
  if (state.points[0] && state.points[state.points.length - 1]) check();
}

async function check() {
  const seq = ++state.seq;
  let request;
  const corridorM = corridor.value;
  if (state.file) {
    const isGpx = state.file.trimStart().startsWith("<");
    request = {
      url: `${panel.dataset.check}?corridor_m=${corridorM}`,
      body: state.file,
      type: isGpx ? "application/gpx+xml" : "application/geo+json",
    };
  } else {
    const points = chosen();
    if (points.length < 2) { status.textContent = T.needTwo; return; }
    const route = { type: "LineString", coordinates: points.map((p) => [Number(p.lon.toFixed(6)), Number(p.lat.toFixed(6))]) };
    request = { url: panel.dataset.check, body: JSON.stringify({ route, corridor_m: Number(corridorM) }), type: "application/json" };
  }
  status.textContent = T.checking;
  panel.setAttribute("aria-busy", "true");
  try {
    const response = await requestJson(request.url, { method: "POST", body: request.body, headers: { "Content-Type": request.type } });
    const body = response.body;
    if (seq !== state.seq) return;
    if (!response.ok || !body) {
      status.textContent = fmt(T.failed, { detail: body?.detail || response.status });
      list.replaceChildren();
      return;
    }
    show(body);
  } catch {
    if (seq === state.seq) status.textContent = T.unreachable;
  } finally {
    if (seq === state.seq) panel.removeAttribute("aria-busy");
  }
}

const phone = window.matchMedia("(max-width: 699px)");

function fitRoute(latlngs) {
  // Frame the route in the part of the map the panel leaves uncovered: above the sheet on a phone, left of it wide.
  const cover = panel.getBoundingClientRect();
  const pad = phone.matches ? { topLeft: [20, 70], bottomRight: [20, cover.height + 20] }
    : { topLeft: [40, 70], bottomRight: [cover.width + 30, 40] };
  host.frame(latlngs, pad);
}

function show(body) {
  const latlngs = body.route.coordinates.map(([lon, lat]) => [lat, lon]);
  draw(latlngs);
  fitRoute(latlngs);
  const km = number(body.length_m / 1000, 1);
  const m = number(body.corridor_m);
  const words = [];
  if (state.file) words.push(fmt(T.fileRoute, { n: number(body.route.coordinates.length) }));
  if (body.simplified_m !== undefined) words.push(fmt(T.simplified, { n: number(body.source_points), m: number(body.simplified_m) }));
  if (body.numberMatched === 0) words.push(fmt(T.none, { m, km }));
  else if (body.numberMatched === 1) words.push(fmt(T.foundOne, { m, km }));
  else words.push(fmt(T.found, { n: number(body.numberMatched), m, km }));
  if (body.numberReturned < body.numberMatched) words.push(fmt(T.more, { n: body.numberReturned, total: body.numberMatched }));
  status.textContent = words.join(" ");
  list.replaceChildren();
  for (const feature of body.features) {
    const p = feature.properties;
    const item = el("li", `route-hit kind-${p.kind}`);
    item.dataset.id = String(feature.id);
    const open = el("button", "route-open-incident");
    open.type = "button";
    const head = el("span", "route-hit-head");
    head.append(el("span", `swatch swatch-${p.kind}`), el("strong", "", T[`kind.${p.kind}`] || p.kind));
    head.append(el("span", `st ${p.verified ? "ok" : "unconf"}`, p.verified ? T.verified : T.unconfirmed));
    open.append(head);
    open.append(el("span", "route-hit-place", p.place || T.noPlaceName));
    const facts = [
      fmt(T.along, { km: number(p.distance_along_m / 1000, 1) }),
      fmt(T.off, { m: number(p.distance_from_route_m) }),
      ago(Date.parse(p.last_confirmed_at), "short"),
      fmt(T.confidence, { pct: Math.round(p.confidence * 100) }),
    ];
    open.append(el("span", "route-hit-facts", facts.join(" · ")));
    open.addEventListener("click", () => {
      const [lon, lat] = feature.geometry.coordinates;
      if (phone.matches) fold();
      host.showIncident(feature.id, lat, lon);
    });
    item.append(open);
    list.append(item);
  }
}

// --- files and pasted text --------------------------------------------------------------------------------------

function useText(text) {
  if (!text.trim()) { status.textContent = T.emptyText; return; }
  state.file = text;
  state.points = [null, null];
  renderPoints();
  check();
}

// --- opening and closing ----------------------------------------------------------------------------------------

function setOpen(open) {
  panel.hidden = !open;
  panel.classList.remove("folded");
  opener.setAttribute("aria-expanded", String(open));
  if (open) host.addLayer(layer);
  else { stopPicking(); host.removeLayer(layer); }
}

// On a phone an opened incident needs the whole map: the panel folds away, the route stays drawn, "Route" unfolds it.
function fold() {
  panel.classList.add("folded");
  opener.setAttribute("aria-expanded", "false");
}

/** The one entry point: sets the panel up on map.js's routeHost and returns what "Route" does. */
export function start(routeHost) {
  host = routeHost;
  layer = L.layerGroup();
  cancel.hidden = true;
  status.after(cancel);
  document.getElementById("route-use-text").addEventListener("click", () => useText(document.getElementById("route-text").value));
  document.getElementById("route-file-input").addEventListener("change", async (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) useText(await file.text());
  });
  corridor.addEventListener("change", () => {
    if (corridorLine) corridorLine.setStyle({ weight: corridorWeight() });
    if (state.file || chosen().length >= 2) check();
  });
  document.getElementById("route-add").addEventListener("click", () => {
    state.points.splice(state.points.length - 1, 0, null);
    renderPoints();
    startPicking(state.points.length - 2);
  });
  document.getElementById("route-close").addEventListener("click", () => setOpen(false));
  host.onZoom(() => { if (corridorLine) corridorLine.setStyle({ weight: corridorWeight() }); });
  renderPoints();
  return { toggle: () => setOpen(panel.hidden || panel.classList.contains("folded")) };
}
