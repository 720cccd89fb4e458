/* The OGC items page's map: the page's own GeoJSON (its alternate link) over our basemap, or over the tile server
 * when the operator set one. Properties only ever reach the page through textContent. */
/* global L */
import { el } from "../lib/common.js";
import { vectorBasemap } from "../lib/basemap.js";

const box = document.getElementById("items-map");
const source = document.querySelector('link[rel="alternate"][type="application/geo+json"]');
const styles = getComputedStyle(document.documentElement);
const [w, s, e, n] = box.dataset.bbox.split(",").map(Number);
const map = L.map(box, { minZoom: 3, maxZoom: 18 });
map.fitBounds([[s, w], [n, e]]);
if (box.dataset.tiles) {
  L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);
} else {
  const { basemap: url, basemapZoom: maxZoom, basemapAttribution: attribution } = box.dataset;
  vectorBasemap({ url, maxZoom, attribution }).addTo(map);
}

function label(properties) {
  const node = el("span");
  for (const name of ["kind", "status", "place"]) {
    if (properties[name]) node.append(el("span", `tip-${name}`, String(properties[name])), " ");
  }
  return node;
}

fetch(source.href, { headers: { Accept: "application/geo+json" } })
  .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
  .then((data) => {
    const layer = L.geoJSON(data, {
      pointToLayer: (feature, at) => {
        const color = styles.getPropertyValue(`--${feature.properties.kind}`).trim() || "#333";
        return L.circleMarker(at, { radius: 7, color: "#fff", weight: 2, fillColor: color, fillOpacity: 0.9 });
      },
      onEachFeature: (feature, marker) => marker.bindTooltip(label(feature.properties || {})),
    }).addTo(map);
    const count = layer.getLayers().length;
    if (count) map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [24, 24] });
    box.dataset.drawn = String(count);
  })
  .catch(() => {
    box.dataset.drawn = "error";
  });
