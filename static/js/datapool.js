// htmx drops the body of an error response: say so visibly instead of failing silently.
(function () {
  function show(kind) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent = box.dataset[kind];
    box.hidden = false;
  }
  document.addEventListener("htmx:responseError", function (event) {
    show(event.detail.xhr.status === 403 ? "forbidden" : "failed");
  });
  document.addEventListener("htmx:sendError", function () { show("offline"); });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.successful) {
      var box = document.getElementById("htmx-error");
      if (box) box.hidden = true;
    }
  });
})();
