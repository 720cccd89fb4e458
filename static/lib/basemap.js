/* The maps' default background: our own vector basemap, one PMTiles archive read in byte ranges from this origin
 * and drawn by protomaps-leaflet (static/map/vendor, a classic script that defines protomapsL). Pages that set
 * MAP_TILE_URL draw raster tiles instead and never load this. */
/* global protomapsL */
import { LANG } from "./common.js";

export function vectorBasemap({ url, maxZoom, attribution }) {
  return protomapsL.leafletLayer({ url, flavor: "light", lang: LANG, maxDataZoom: Number(maxZoom) || 10, attribution });
}
