// Small enhancements; every page works without them.
// - Times: each <time datetime> is shown in the browser's time zone.
// - Copy buttons: [data-copy="id"] copies the text of that element.
// - Confirmations: a form with data-confirm asks before it is sent.
// - Live preview: inputs with data-preview set a CSS variable on the
//   preview element (a tenant's accent colour).
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) { el.title = el.textContent; el.textContent = format.format(d); }
  });
  document.querySelectorAll(".utc-note").forEach(function (el) {
    el.textContent = "Times are in " + Intl.DateTimeFormat().resolvedOptions().timeZone + ".";
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied") || "Copied";
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  document.querySelectorAll("[data-preview]").forEach(function (input) {
    var target = document.getElementById(input.getAttribute("data-preview"));
    var name = input.getAttribute("data-preview-var");
    if (!target || !name) return;
    var apply = function () {
      if (/^#[0-9a-fA-F]{6}$/.test(input.value)) target.style.setProperty(name, input.value);
    };
    input.addEventListener("input", apply);
  });
});
