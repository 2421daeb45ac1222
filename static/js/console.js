/* The console's forms with htmx (issue 13, points 7 and 8).

   Errors follow the fields. A refused form comes back with each refused field marked
   (aria-invalid, its message beside it, see macros.html). Focus moves to the first of them,
   and a message clears as soon as its field is fixed: changed from what was refused, not
   blank when required, within its length limit.

   After signing in again in another tab, a form sent from this page comes back at its review
   step with the new session's token, which the whole page then uses.

   A step that asks to check and confirm (the review before publishing, "Confirm update 1?",
   "Retract…", "Resolve…", a revoke) opens with focus on what is left to do there: its first
   empty required field, else its heading or question, from which the next Tab reaches its
   button (described by the question); never the button itself, so that a second Enter does not
   do what the first only asked to check. The templates mark that heading or question with
   data-step-title (and tabindex="-1"); the step is the region it names, else its form. A swap
   that took the focused button away otherwise leaves focus on the swapped part's heading.

   When an action's request fails (no answer, a lost answer, a status htmx does not swap), #flash
   says so, with the status and the server's own short message, and whether anything can have
   happened. Nothing on the page changes, so everything typed stays. The next action clears it.

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

  // Whether an htmx request was set off by one of these kinds of event: SUBMIT (a form sent) or
  // BY_THE_PIO (a form sent, a button pressed), not a poll, a preview or an autosave.
  var SUBMIT = ["submit"];
  var BY_THE_PIO = ["submit", "click"];

  function triggeredBy(detail, types) {
    var config = detail && detail.requestConfig;
    var event = config && config.triggeringEvent;
    return Boolean(event) && types.indexOf(event.type) !== -1;
  }

  function isShown(element) {
    return element.getClientRects().length > 0 && !element.disabled;
  }

  function isEmpty(field) {
    if (field.type === "radio") {
      var group = field.form ? field.form.elements.namedItem(field.name) : null;
      var radios = group && group.length ? group : [group];
      return !group || !Array.prototype.some.call(radios, function (radio) {
        return radio.checked;
      });
    }
    if (field.type === "checkbox") {
      return !field.checked;
    }
    return !field.value.trim();
  }

  // The heading or question of a step where the PIO checks and confirms: the review (compose,
  // correction), the merge choices, or a form whose next press does it (confirm, retract,
  // resolve, revoke…). The templates mark it, and make it focusable (tabindex="-1").
  var STEP_TITLE = "[data-step-title]";

  // The step a title heads: the region it names (a review, the merge choices), else its form.
  function stepOf(title) {
    return title.closest('[role="region"], form') || title.parentElement;
  }

  // A text the step asks to write: a textarea whose label does not say "(optional)" (the
  // all-clear message of "Resolve…", which starts with "All clear: " for the PIO to finish).
  function isToWrite(field) {
    var label = field.labels && field.labels[0];
    return field.localName === "textarea" && Boolean(label) && !label.querySelector(".optional");
  }

  // The first field of the step still to fill in: a text to write, or a required choice not
  // made yet (the merge's).
  function firstToFill(step) {
    var fields = step.querySelectorAll("input:not([type=hidden]), textarea, select");
    return Array.prototype.find.call(fields, function (field) {
      var required = field.required || field.hasAttribute("data-required");
      return isShown(field) && (isToWrite(field) || (required && isEmpty(field)));
    });
  }

  function firstButton(step) {
    var buttons = step.querySelectorAll(
      'button:not([type="button"]):not([type="reset"]), input[type="submit"]'
    );
    return Array.prototype.find.call(buttons, isShown);
  }

  var described = 0;

  // A confirm step's question ("Retract update 1?") describes the button that does it, so a
  // screen reader says what pressing it does; a review's heading already names the region the
  // button is in.
  function describeByTitle(title, button) {
    if (button.hasAttribute("aria-describedby") || title.contains(button)) {
      return;
    }
    var region = button.closest("[aria-labelledby]");
    if (title.id && region && region.getAttribute("aria-labelledby") === title.id) {
      return;
    }
    if (!title.id) {
      described += 1;
      title.id = "console-step-title-" + described;
    }
    button.setAttribute("aria-describedby", title.id);
  }

  function headingIn(root) {
    var heading = root.matches("h1, h2, h3, h4") ? root : root.querySelector("h1, h2, h3, h4");
    if (heading && !heading.hasAttribute("tabindex")) {
      heading.setAttribute("tabindex", "-1");
    }
    return heading;
  }

  // Shows the step from its start when it fits, and the focused control in any case.
  function reveal(step, control) {
    if (step && step.scrollIntoView) {
      step.scrollIntoView({ block: "start" });
    }
    var box = control.getBoundingClientRect();
    if (box.bottom > window.innerHeight || box.top < 0) {
      control.scrollIntoView({ block: "nearest" });
    }
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  // The element a swap brought in as its target (not an out-of-band part of the same answer).
  function isSwapTarget(element, detail) {
    var target = detail && detail.target;
    if (!target) {
      return false;
    }
    return (
      element === target ||
      target.contains(element) ||
      Boolean(target.id && element.id === target.id)
    );
  }

  function focusAfterSwap(root, detail) {
    if (!(root instanceof Element) || !root.isConnected || !isSwapTarget(root, detail)) {
      return;
    }
    if (!focusLost()) {
      return;
    }
    var title = root.matches(STEP_TITLE) ? root : root.querySelector(STEP_TITLE);
    if (title) {
      var step = stepOf(title);
      var button = firstButton(step);
      if (button) {
        describeByTitle(title, button);
      }
      // The step's heading or question, not its button: a second Enter must not publish,
      // retract or confirm what the first one only asked to review. The next Tab reaches the
      // button.
      var control = firstToFill(step) || title;
      control.focus({ preventScroll: true });
      if (control.localName === "textarea") {
        control.setSelectionRange(control.value.length, control.value.length); // to go on typing
      }
      reveal(step, control);
      return;
    }
    var heading = headingIn(root);
    if (heading) {
      heading.focus();
    }
  }

  // A form sent with htmx: focus moves only when the PIO submitted it, never while they type
  // in a form that refreshes itself (the audit filters).
  document.addEventListener("htmx:afterSettle", function (event) {
    var refused = noteRefused(document);
    if (!triggeredBy(event.detail, SUBMIT)) {
      return;
    }
    if (refused.length) {
      refused[0].focus();
      return;
    }
    focusAfterSwap(event.target, event.detail);
  });

  // Holding Enter down must not go on to press the button that focus just moved to (the
  // review's "Publish now"): a repeated key press does nothing on a button.
  document.addEventListener(
    "keydown",
    function (event) {
      var target = event.target;
      var onButton = target.matches && target.matches("button, input[type=submit]");
      if (event.repeat && event.key === "Enter" && onButton) {
        event.preventDefault();
      }
    },
    true
  );

  // ---- Failed requests --------------------------------------------------------------------

  var ERROR = "data-request-error";

  var STATUS_WORDS = {
    400: "the request was not understood",
    404: "it was not found; it may have been removed",
    405: "this action is not possible here",
    408: "the server waited too long for the request",
    413: "what was sent is too large",
    429: "too many requests; wait a moment",
    500: "an unexpected error on the server",
    502: "the server behind the gateway did not answer",
    503: "the server is busy or restarting; try again in a few seconds",
    504: "the server behind the gateway did not answer in time",
  };

  function clearError() {
    var flash = document.getElementById("flash");
    if (!flash) {
      return;
    }
    flash.querySelectorAll("[" + ERROR + "]").forEach(function (message) {
      message.remove();
    });
  }

  function showError(text) {
    var flash = document.getElementById("flash");
    if (!flash) {
      return;
    }
    clearError();
    var message = document.createElement("p");
    message.className = "flash__message flash__message--request";
    message.setAttribute(ERROR, "");
    message.textContent = text;
    flash.appendChild(message);
  }

  function short(text) {
    var words = (text || "").replace(/\s+/g, " ").trim();
    return words && words.length <= 300 ? words : "";
  }

  // The server's own words, when it sent a short text, a JSON error or a console message.
  function serverMessage(xhr) {
    var type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    var body = typeof xhr.responseText === "string" ? xhr.responseText : "";
    if (type.indexOf("json") !== -1) {
      try {
        var data = JSON.parse(body);
        var error = data && (data.error !== undefined ? data.error : data);
        if (typeof error === "string") {
          return short(error);
        }
        return short(error && (error.message || error.detail || error.title));
      } catch (problem) {
        return "";
      }
    }
    if (type.indexOf("text/plain") !== -1) {
      return short(body);
    }
    if (type.indexOf("html") !== -1 && (xhr.getResponseHeader("HX-Retarget") || "") === "#flash") {
      var page = new DOMParser().parseFromString(body, "text/html");
      var flash = page.querySelector(".flash__message") || page.body;
      return short(flash && flash.textContent);
    }
    return "";
  }

  function retryAfter(xhr) {
    var seconds = Number(xhr.getResponseHeader("Retry-After"));
    if (!(seconds > 0 && seconds < 3600)) {
      return "";
    }
    return "; try again in " + seconds + (seconds === 1 ? " second" : " seconds");
  }

  function responseMessage(xhr) {
    var status = xhr.status;
    var words = serverMessage(xhr);
    if (!words) {
      words = STATUS_WORDS[status] || "it answered with an error";
      words += status === 503 ? "" : retryAfter(xhr);
    }
    words = words.replace(/[.\s]+$/, "");
    var text = "The server could not do this (" + status + ": " + words + ").";
    // A refused request (4xx) and a busy or unreachable server (503) did nothing. Any other
    // error may have come after the work was done: say that it is not known.
    if ((status >= 400 && status < 500) || status === 503) {
      return text + " Nothing was saved or published.";
    }
    return (
      text + " It is not known whether it was done: check the update list before trying again."
    );
  }

  var LOST =
    "The request did not reach the server, or its answer was lost: " +
    "nothing on this screen changed. " +
    "Check the update list before trying again.";

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (triggeredBy(event.detail, BY_THE_PIO)) {
      clearError();
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (triggeredBy(event.detail, BY_THE_PIO) && event.detail.xhr) {
      showError(responseMessage(event.detail.xhr));
    }
  });

  // An autosave that failed says so on its own line: "Saved as you typed, at …" left there
  // would tell the PIO that the newer text is kept when it is not. (A refusal the server
  // words, a 422, is swapped in as it sends it; an autosave cut short by the next keystroke is
  // not a failure.)
  function autosaveNotSaved(detail, why) {
    var line = detail && detail.elt;
    if (!line || !line.classList || !line.classList.contains("autosave")) {
      return;
    }
    line.classList.add("autosave--problem");
    line.textContent = "Not saved: " + why + ". What you typed stays on this page.";
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (!xhr || xhr.status < 400 || xhr.status === 422) {
      return;
    }
    autosaveNotSaved(
      event.detail,
      xhr.status === 401 ? "your session has ended" : "the server could not save it (" + xhr.status + ")"
    );
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (triggeredBy(event.detail, BY_THE_PIO)) {
      showError(LOST);
    }
    autosaveNotSaved(event.detail, "the server could not be reached");
  });

  document.addEventListener("htmx:timeout", function (event) {
    if (triggeredBy(event.detail, BY_THE_PIO)) {
      showError(LOST);
    }
    autosaveNotSaved(event.detail, "the server did not answer");
  });
})();
