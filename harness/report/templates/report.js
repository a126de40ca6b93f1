// The report's only script: the overlay switch. It reads no document text and fetches
// nothing; without it the overlays stay one click away as links.
(function () {
  "use strict";
  document.querySelectorAll(".overlay-switch").forEach(function (box) {
    box.addEventListener("change", function () {
      var scope = box.closest("section") || document;
      scope.querySelectorAll("img.page-image").forEach(function (img) {
        if (!img.dataset.page) {
          img.dataset.page = img.getAttribute("src");  // the page itself, to switch back
        }
        var target = box.checked ? img.dataset.overlay : img.dataset.page;
        if (target) {
          img.src = target;
          img.classList.toggle("overlaid", box.checked && !!img.dataset.overlay);
        }
      });
    });
  });
})();
