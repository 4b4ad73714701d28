// Upload with a progress bar; without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var box = document.getElementById("upload-progress");
  var bar = box.querySelector("progress");
  var label = box.querySelector("span");
  var error = document.getElementById("upload-error");

  function fail(message) {
    box.classList.add("hidden");
    form.querySelector("button[type=submit]").disabled = false;
    error.textContent = message;
    error.classList.remove("hidden");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = form.querySelector("input[type=file]").files[0];
    if (file && file.size > Number(form.dataset.maxBytes)) {
      fail(form.dataset.tooLarge);
      return;
    }
    error.classList.add("hidden");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");
      label.textContent = label.dataset.checking;
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 413) { fail(form.dataset.tooLarge); return; }
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () { fail(form.dataset.failed); });
    box.classList.remove("hidden");
    label.textContent = label.dataset.uploading;
    form.querySelector("button[type=submit]").disabled = true;
    xhr.send(new FormData(form));
  });
}());
