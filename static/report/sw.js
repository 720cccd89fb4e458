/* Alcabala's service worker: keeps the report page and the live map usable offline, and sends the outbox when it
 * can. What it keeps of the map: the page, its scripts, the last list of incidents it loaded, and the basemap
 * byte ranges the phone has read, up to BASEMAP_BYTES (oldest dropped first). The quick exit erases all of it but
 * the neutral exit page (static/lib/common.js, forgetEverything). */
"use strict";
importScripts("/static/report/queue.js");

var CACHE = "alc-shell-v1";
// Not versioned with the shell: a deploy keeps the basemap seen so far. Entries of another archive (another ETag)
// are dropped as soon as a range of the new one is stored.
var BASEMAP = "alc-basemap";
var BASEMAP_BYTES = 4000000; // replaced by BASEMAP_OFFLINE_BYTES when served (incidents/views.py)
var BASEMAP_PATH = "/basemap.pmtiles";
var LIST_PATH = "/api/v1/incidents";
// report.js imports /static/lib/common.js: the page does not run offline without it.
var SHELL = ["/report", "/exit", "/static/report/report.css", "/static/report/report.js",
  "/static/report/queue.js", "/static/report/manifest.json", "/static/report/icon.svg", "/static/lib/common.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key !== CACHE && key !== BASEMAP; }).map(function (key) {
      return caches.delete(key);
    }));
  }).then(function () { return self.clients.claim(); }));
});

/** A copy of a response for the cache, stamped with when this phone stored it (the map shows "updated N min ago"
 * from it) and its body's size; a 206 becomes a 200, which the Cache API accepts. */
function stamped(response) {
  return response.clone().arrayBuffer().then(function (body) {
    var headers = new Headers(response.headers); // a page's Content-Security-Policy included
    headers.delete("Content-Encoding"); // the body read here is decoded already
    headers.delete("Content-Length");
    headers.set("X-Alc-Stored", String(Date.now()));
    headers.set("X-Alc-Size", String(body.byteLength));
    return { body: body, headers: headers };
  });
}

function networkFirst(event, key, cacheName) {
  var request = event.request;
  return fetch(request).then(function (response) {
    if (response.ok) {
      event.waitUntil(stamped(response).then(function (copy) {
        return caches.open(cacheName || CACHE).then(function (cache) {
          return cache.put(key, new Response(copy.body, { status: 200, headers: copy.headers }));
        });
      }));
    }
    return response;
  }).catch(function () {
    return caches.open(cacheName || CACHE).then(function (cache) { return cache.match(key); }).then(function (cached) {
      return cached || Response.error();
    });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (cached) {
    return cached || fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

// --- the basemap: PMTiles byte ranges, each kept under a key of its own -------------------------------------------
// The archive is one file read in ranges (its header and directories, then one range per tile). The Cache API keeps
// no 206 answers, so each range is stored as a 200 under "/basemap.pmtiles?bytes=START-END" and given back as a 206.
// Online, every range comes from the network (a rebuilt archive shows at once); offline, from here.
var chain = Promise.resolve(); // cache writes and trims, one at a time
var trimQueued = false;

function rangeKey(range) {
  return new Request(self.location.origin + BASEMAP_PATH + "?bytes=" + encodeURIComponent(range.replace(/^bytes=/, "")));
}

function queue(work) {
  chain = chain.then(work).catch(function () {});
  return chain;
}

/** Keep the newest ranges of the newest archive within BASEMAP_BYTES; the header's range (from byte 0) is kept
 * first, since no tile can be read without it. */
function trimBasemap() {
  trimQueued = false;
  return caches.open(BASEMAP).then(function (cache) {
    return cache.keys().then(function (keys) {
      return Promise.all(keys.map(function (key) {
        return cache.match(key).then(function (response) {
          return {
            key: key, at: Number(response.headers.get("X-Alc-Stored")) || 0, etag: response.headers.get("ETag"),
            size: Number(response.headers.get("X-Alc-Size")) || 0, head: /bytes=0-/.test(decodeURIComponent(key.url)),
          };
        });
      }));
    }).then(function (entries) {
      if (!entries.length) return null;
      entries.sort(function (a, b) { return (b.head - a.head) || (b.at - a.at); });
      var newest = entries.slice().sort(function (a, b) { return b.at - a.at; })[0];
      var total = 0, full = false;
      var drop = entries.filter(function (entry) {
        if (entry.etag !== newest.etag) return true;
        if (!full && total + entry.size <= BASEMAP_BYTES) { total += entry.size; return false; }
        full = !entry.head; // past the first range that does not fit, every older one goes too
        return true;
      });
      return Promise.all(drop.map(function (entry) { return cache.delete(entry.key); }));
    });
  });
}

function basemapRange(event) {
  var request = event.request, range = request.headers.get("Range");
  if (!range) return fetch(request);
  var key = rangeKey(range);
  return fetch(request).then(function (response) {
    if (response.status === 206) {
      event.waitUntil(stamped(response).then(function (copy) {
        return queue(function () {
          return caches.open(BASEMAP).then(function (cache) {
            return cache.put(key, new Response(copy.body, { status: 200, headers: copy.headers }));
          });
        }).then(function () {
          if (trimQueued) return chain;
          trimQueued = true;
          return queue(trimBasemap);
        });
      }));
    }
    return response;
  }).catch(function () {
    return caches.open(BASEMAP).then(function (cache) { return cache.match(key); }).then(function (cached) {
      if (!cached) return Response.error();
      return cached.arrayBuffer().then(function (body) {
        return new Response(body, { status: 206, headers: cached.headers });
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/" || url.pathname === "/report" || url.pathname === "/exit") {
    event.respondWith(networkFirst(event, url.pathname));
  } else if (url.pathname === BASEMAP_PATH) {
    event.respondWith(basemapRange(event));
  } else if (url.pathname === LIST_PATH && url.searchParams.get("format") === "columns") {
    // The last list the map loaded, whatever its bbox: offline, the map shows the incidents it last had.
    event.respondWith(networkFirst(event, LIST_PATH));
  } else if (["/static/report/", "/static/lib/", "/static/leaflet/", "/static/map/"].some(function (prefix) {
    return url.pathname.indexOf(prefix) === 0;
  })) {
    event.respondWith(cacheFirst(request));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "alc-outbox") event.waitUntil(self.AlcQueue.flush());
});
