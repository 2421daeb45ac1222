/* The console's forms with htmx (issue 13, points 7 and 8).

   Errors follow the fields. A refused form comes back with each refused field marked
   (aria-invalid, its message beside it, see macros.html). Focus moves to the first of them,
   and a message clears as soon as its field is fixed: changed from what was refused, not
   blank when required, within its length limit.

   After signing in again in another tab, a form sent from this page comes back at its review
   step with the new session's token, which the whole page then uses.

   The server checks everything again when a form is sent; without this file the forms work
   the same, minus these conveniences. */
(function () {
  "use strict";

  var INVALID = '[aria-invalid="true"]';

  function length(text) {
    return Array.from(text.trim()).length; // code points, as the services count
  }

  function isFixed(field) {
    if (field.type === "checkbox") {
      return field.checked;
    }
    var value = field.value;
    if (value === field.getAttribute("data-refused")) {
      return false;
    }
    if (field.hasAttribute("data-required") && !value.trim()) {
      return false;
    }
    var limit = Number(field.getAttribute("data-max-chars"));
    return !limit || length(value) <= limit;
  }

  function clear(field) {
    var errorId = field.id + "-error";
    var error = document.getElementById(errorId);
    if (error) {
      error.remove();
    }
    field.removeAttribute("aria-invalid");
    var rest = (field.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== errorId;
    });
    if (rest.length) {
      field.setAttribute("aria-describedby", rest.join(" "));
    } else {
      field.removeAttribute("aria-describedby");
    }
    var wrapper = field.closest(".field--invalid");
    if (wrapper) {
      wrapper.classList.remove("field--invalid");
    }
  }

  // Remembers what each newly refused field held; returns those fields in page order.
  function noteRefused(root) {
    var fields = Array.prototype.filter.call(root.querySelectorAll(INVALID), function (field) {
      return !field.hasAttribute("data-refused");
    });
    fields.forEach(function (field) {
      field.setAttribute("data-refused", field.type === "checkbox" ? "" : field.value);
    });
    return fields;
  }

  function onEdit(event) {
    var field = event.target;
    if (field.matches && field.matches(INVALID) && isFixed(field)) {
      clear(field);
    }
  }

  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);

  // A page that shows refused fields (a form sent without htmx) opens at the first of them.
  document.addEventListener("DOMContentLoaded", function () {
    var refused = noteRefused(document);
    if (refused.length) {
      refused[0].focus();
    }
  });

  // The PIO signed in again (in another tab) and sent a form from this page: the answer brings
  // the new session's token, which every form and htmx request of this page now sends.
  document.addEventListener("console-session-changed", function (event) {
    var token = event.detail && event.detail.csrf;
    if (typeof token !== "string") {
      return;
    }
    document.body.setAttribute("data-hx-headers", JSON.stringify({ "X-CSRF-Token": token }));
    document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
      input.value = token;
    });
    var flash = document.getElementById("flash");
    if (flash) {
      flash.textContent = ""; // "signed out" no longer holds
    }
  });

  // A form sent with htmx: focus moves only when the PIO submitted it, never while they type
  // in a form that refreshes itself (the audit filters).
  document.addEventListener("htmx:afterSettle", function (event) {
    var refused = noteRefused(document);
    var config = event.detail.requestConfig;
    var submitted = config && config.triggeringEvent && config.triggeringEvent.type === "submit";
    if (refused.length && submitted) {
      refused[0].focus();
    }
  });
})();
