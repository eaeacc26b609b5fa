// Progressive enhancement for "Copy the sentences": the text box works without it.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var box = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-status"));
    if (!box) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      box.focus();
      box.select();
      var done = function () { if (status) { status.textContent = "Copied to the clipboard."; } };
      var fallback = function () {
        try { document.execCommand("copy"); done(); }
        catch (e) { if (status) { status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected text."; } }
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(box.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
})();
