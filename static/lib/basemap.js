/* The maps' default background: our own vector basemap, one PMTiles archive read in byte ranges from this origin
 * and drawn by protomaps-leaflet (static/map/vendor, a classic script that defines protomapsL). Pages that set
 * MAP_TILE_URL draw raster tiles instead and never load this. Labels take `name:<page language>` where the archive
 * has it (an OpenStreetMap extract), else `name`. */
/* global protomapsL */
import { LANG } from "./common.js";

export function vectorBasemap({ url, maxZoom, attribution }) {
  const layer = protomapsL.leafletLayer({ url, flavor: "light", lang: LANG, maxDataZoom: Number(maxZoom) || 10, attribution });
  // For bench/map_page.py: when the first view's tiles were all drawn.
  layer.once("load", () => { if (!performance.getEntriesByName("alc:basemap-drawn").length) performance.mark("alc:basemap-drawn"); });
  return layer;
}
