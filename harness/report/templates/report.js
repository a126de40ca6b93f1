// The report's only script: the overlay switch, the page size, and the grade picker's
// export. It reads no document text into markup and fetches nothing; without it the
// overlays stay one click away as links (the picker needs it: it only ever builds a file
// for the reader to save).
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

  // Page size: one slider per document sets the width of every page image; a click on a
  // page shows it at full width and a second click shrinks it back.
  document.querySelectorAll(".page-zoom").forEach(function (slider) {
    var scope = slider.closest("section") || document.body;
    slider.addEventListener("input", function () {
      scope.style.setProperty("--page-width", slider.value + "px");
    });
  });
  document.querySelectorAll("table.pages img.page-image").forEach(function (img) {
    img.addEventListener("click", function () {
      img.classList.toggle("enlarged");
    });
  });

  // Agreement with people: the grades picked on a document page, exported as rows of a
  // ratings file (document, suite, task, grade, rater, note). The rater's name is kept in
  // localStorage when the browser allows it (a page opened from disk may not).
  var HEADER = ["document", "suite", "task", "grade", "rater", "note"];
  var NAME_KEY = "fidelity-report.rater";

  function remembered() {
    try {
      return window.localStorage.getItem(NAME_KEY) || "";
    } catch (e) {
      return "";  // storage refused: the name is typed again, nothing else changes
    }
  }

  function remember(name) {
    try {
      window.localStorage.setItem(NAME_KEY, name);
    } catch (e) {
      // storage refused or full: the name is simply not remembered
    }
  }

  function cell(text) {  // a tab or line break would split the row
    return String(text).replace(/[\t\r\n]+/g, " ");
  }

  document.querySelectorAll(".rate-export").forEach(function (box) {
    var scope = box.closest("article") || document;
    var name = box.querySelector("input.rate-rater");
    var button = box.querySelector("button.rate-export-button");
    var status = box.querySelector(".rate-status");
    name.value = remembered();
    name.addEventListener("change", function () {
      remember(cell(name.value).trim());
      document.querySelectorAll("input.rate-rater").forEach(function (other) {
        other.value = name.value;  // one reader, one name, in a single-file report too
      });
    });
    button.addEventListener("click", function () {
      var rater = cell(name.value).trim();
      if (!rater) {
        status.textContent = "Type your name first: each row says who gave the grade.";
        name.focus();
        return;
      }
      remember(rater);
      var rows = [HEADER.join("\t")];
      scope.querySelectorAll("select.rate-grade").forEach(function (select) {
        if (select.value === "") {
          return;
        }
        var note = select.parentElement.querySelector("input.rate-note");
        rows.push([select.dataset.document, select.dataset.suite, select.dataset.task,
                   select.value, rater, note ? note.value.trim() : ""].map(cell).join("\t"));
      });
      if (rows.length === 1) {
        status.textContent = "Pick a grade beside at least one result first.";
        return;
      }
      var blob = new Blob([rows.join("\n") + "\n"],
                          {type: "text/tab-separated-values;charset=utf-8"});
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "ratings-" + box.dataset.key + ".tsv";
      link.hidden = true;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      status.textContent = (rows.length - 1) + " grade(s) exported to " + link.download +
        ": append it to the ratings file named below.";
    });
  });
})();
