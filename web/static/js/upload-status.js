// While an upload is being checked or imported: ask for its state every second and show the result when done.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box || !box.dataset.status || !window.fetch) { return; }
  var seconds = box.querySelector(".muted");
  function ask() {
    fetch(box.dataset.status, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {state: "done"}; })
      .then(function (s) {
        if (s.state === box.dataset.state) {
          if (seconds) { seconds.textContent = seconds.textContent.replace(/\d+/, String(s.elapsed)); }
          window.setTimeout(ask, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(ask, 3000); });
  }
  window.setTimeout(ask, 1000);
}());
