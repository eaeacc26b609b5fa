// Progressive enhancement for a page that follows background work (an import, a send): the "Refresh the
// status" link works without it. Every two seconds the page is fetched again; the [data-live] values are
// copied over, and once the work is over the finished page replaces this one. It gives up after ten minutes.
(function () {
  "use strict";
  var page = document.querySelector("[data-live-page]");
  if (!page || page.getAttribute("data-state") !== "running" || !window.fetch || !window.DOMParser) { return; }
  var started = Date.now();
  var copy = function (next) {
    Array.prototype.forEach.call(next.querySelectorAll("[data-live]"), function (b) {
      var a = page.querySelector('[data-live="' + b.getAttribute("data-live") + '"]');
      if (!a) { return; }
      a.textContent = b.textContent;
      if (b.hasAttribute("value")) { a.setAttribute("value", b.getAttribute("value")); a.value = b.value; }
    });
  };
  var tick = function () {
    if (Date.now() - started > 600000) { return; }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (reply) { if (!reply.ok) { throw new Error(String(reply.status)); } return reply.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.querySelector("[data-live-page]");
        if (!next) { throw new Error("no status"); }
        if (next.getAttribute("data-state") !== "running") {
          document.title = doc.title;
          page.replaceWith(next);
          return;
        }
        copy(next);
        window.setTimeout(tick, 2000);
      })
      .catch(function () { window.setTimeout(tick, 10000); });
  };
  window.setTimeout(tick, 1500);
})();
