/* A live character count under each Wireless Emergency Alert text of the console's forms
   (issue 17): "47 of 90 characters", and "12 over the limit" past it. Counts code points,
   after trimming, as the services do; the server refuses an over-long text anyway. */
(function () {
  "use strict";

  function update(field) {
    var limit = Number(field.getAttribute("data-count-limit"));
    var count = Array.from(field.value.trim()).length;
    var out = document.getElementById(field.id + "-count");
    if (!out) {
      return;
    }
    out.textContent =
      count > limit ? count + " of " + limit + " characters: " + (count - limit) + " over the limit"
        : count + " of " + limit + " characters";
    out.classList.toggle("field__count--over", count > limit);
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field instanceof HTMLTextAreaElement && field.hasAttribute("data-count-limit")) {
      update(field);
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("textarea[data-count-limit]").forEach(update);
  });
  document.querySelectorAll("textarea[data-count-limit]").forEach(update);
})();
