/* The maps' default background: our own vector basemap, one PMTiles archive read in byte ranges from this origin
 * and drawn by protomaps-leaflet (static/map/vendor, a classic script that defines protomapsL). Pages that set
 * MAP_TILE_URL draw raster tiles instead and never load this. Labels take `name:<page language>` where the archive
 * has it (an OpenStreetMap extract), else `name`. */
/* global protomapsL */
import { LANG } from "./common.js";
import { HEAD_BYTES, takeHead } from "./basemap-head.js";

/** The archive read through PMTiles' own fetcher, except its first range when the page fetched it early. */
function archive(url, asked) {
  // The bundle exports no PMTiles class; its PmtilesSource holds a reader (`p`) whose fetcher is `source`.
  const reader = new protomapsL.PmtilesSource(url, true).p;
  const fetcher = reader.source;
  const source = {
    getKey: () => url,
    async getBytes(offset, length, signal, etag) {
      const head = offset === 0 && length === HEAD_BYTES;
      if (!head) asked();
      const early = head ? takeHead(url) : null;
      const response = early && (await early.catch(() => null));
      if (response?.status === 206) {
        const tag = response.headers.get("ETag");
        return {
          data: await response.arrayBuffer(),
          etag: tag && !tag.startsWith("W/") ? tag : undefined,
          cacheControl: response.headers.get("Cache-Control") || undefined,
          expires: response.headers.get("Expires") || undefined,
        };
      }
      return fetcher.getBytes(offset, length, signal, etag); // anything else: the reader's own checks and retries
    },
  };
  return new reader.constructor(source);
}

/** The layer; its `asking` promise settles once it has asked for more than the archive's header (its first tiles). */
export function vectorBasemap({ url, maxZoom, attribution }) {
  let asked;
  const asking = new Promise((resolve) => { asked = resolve; });
  const layer = protomapsL.leafletLayer({ url: archive(url, asked), flavor: "light", lang: LANG, maxDataZoom: Number(maxZoom) || 10, attribution });
  layer.asking = asking;
  // For bench/map_page.py: when the first view's tiles were all drawn.
  layer.once("load", () => { if (!performance.getEntriesByName("alc:basemap-drawn").length) performance.mark("alc:basemap-drawn"); });
  return layer;
}
