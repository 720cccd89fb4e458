// The moderators' small maps and keyboard moves. Data arrives in a JSON block (no inline script, CSP);
// labels are set with textContent through Leaflet's tooltip on a DOM node, never as HTML.
import { el } from "../lib/common.js";
import { vectorBasemap } from "../lib/basemap.js";

const dataNode = document.getElementById("map-data");
const mapNode = document.getElementById("map");

if (dataNode && mapNode && window.L) {
  const data = JSON.parse(dataNode.textContent);
  const L = window.L;
  const map = L.map(mapNode, { keyboard: true });
  if (data.tiles) {
    L.tileLayer(data.tiles, { maxZoom: 19, attribution: "" }).addTo(map);
  } else if (window.protomapsL) {
    vectorBasemap({ url: data.basemap, maxZoom: data.basemap_zoom, attribution: data.basemap_attribution }).addTo(map);
  }
  const layer = L.featureGroup().addTo(map);
  for (const point of data.points) {
    const marker = point.report
      ? L.circleMarker([point.lat, point.lon], { radius: 5, color: "#b45309" })
      : L.marker([point.lat, point.lon], { keyboard: true, title: point.label });
    marker.bindTooltip(el("span", "", point.label));
    marker.addTo(layer);
  }
  if (data.points.length) {
    map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 16 });
  } else {
    const [w, s, e, n] = data.bbox;
    map.fitBounds([[s, w], [n, e]]);
  }
}

// j / k move through the queue's links; Enter follows the focused one (the browser's own behaviour).
const links = Array.from(document.querySelectorAll("a.qlink"));
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLElement && target.closest("input, textarea, select")) return;
  if (event.altKey || event.ctrlKey || event.metaKey || !links.length) return;
  if (event.key !== "j" && event.key !== "k") return;
  const index = links.indexOf(document.activeElement);
  const next = event.key === "j" ? Math.min(index + 1, links.length - 1) : Math.max(index - 1, 0);
  links[next].focus();
  event.preventDefault();
});
