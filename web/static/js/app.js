// Forms marked data-busy show a message and disable their button while the server works.
(function () {
  "use strict";
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var note = form.querySelector(".busy");
      if (note) { note.textContent = form.dataset.busy; note.classList.remove("hidden"); }
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  });
}());
