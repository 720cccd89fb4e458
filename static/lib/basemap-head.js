/* Starts reading the basemap archive's first range (PMTiles header and root directory) as soon as the map page
 * begins, alongside the incidents' preload: a <link rel=preload> cannot ask for a byte range, and without this the
 * range is only asked for once Leaflet, protomaps-leaflet and the map script have run, which on a slow phone put its
 * round trip and the tiles' after it behind the incidents' parsing and indexing. The page loads this file as an
 * async module (templates/incidents/map.html); basemap.js takes the answer once, for the archive's first range. */
export const HEAD_BYTES = 16384; // what the PMTiles reader asks for first

const tag = document.querySelector("script[data-basemap-head]");
let pending = tag ? { url: tag.dataset.basemapHead, response: fetch(tag.dataset.basemapHead, { headers: { Range: `bytes=0-${HEAD_BYTES - 1}` } }) } : null;
// An unused or failed early read must not surface as an unhandled rejection: the reader asks again itself.
pending?.response.catch(() => {});

/** The early answer for `url`'s first range, once; null when there is none (another page, another archive). */
export function takeHead(url) {
  const taken = pending && pending.url === url ? pending.response : null;
  pending = null;
  return taken;
}
