// 文书导出: choosing another department or audit run reloads the form, so that the typical cases offered and the
// default 截至日期 (the run's date) follow the choice; a date the user typed is kept.
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  if (!form) { return; }
  var asOf = form.querySelector("input[name=as_of]");
  var typed = false;
  if (asOf) { asOf.addEventListener("input", function () { typed = true; }); }
  ["department", "run"].forEach(function (name) {
    var field = form.querySelector("select[name=" + name + "]");
    if (!field) { return; }
    field.addEventListener("change", function () {
      var params = new URLSearchParams(new FormData(form));
      if (!typed) { params.delete("as_of"); }
      params.delete("case");
      window.location.assign(form.dataset.refresh + "?" + params.toString());
    });
  });
}());
