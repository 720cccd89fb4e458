/* Alcabala's service worker: keeps the report page usable offline and sends the outbox when it can. */
"use strict";
importScripts("/static/report/queue.js");

var CACHE = "alc-shell-v1";
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
    return Promise.all(keys.filter(function (key) { return key !== CACHE; }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function networkFirst(request, key) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(key).then(function (cached) { return cached || Response.error(); });
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

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/report" || url.pathname === "/exit") {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (["/static/report/", "/static/lib/", "/static/leaflet/"].some(function (prefix) {
    return url.pathname.indexOf(prefix) === 0;
  })) {
    event.respondWith(cacheFirst(request));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "alc-outbox") event.waitUntil(self.AlcQueue.flush());
});
