/* "Use my current location" on /subscribe (issue 17): fills the location field from the
   browser's geolocation, only when the resident presses the button (the browser asks their
   permission too). The location goes to the server only when the form is sent, as typed.
   Without JavaScript or geolocation the button stays hidden and the field is typed. */
(function () {
  "use strict";

  var button = document.querySelector("[data-locate]");
  var field = document.getElementById("subscribe-point");
  if (!button || !field || !("geolocation" in navigator)) {
    return;
  }
  var status = document.querySelector("[data-locate-status]");
  button.hidden = false;

  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        // Five decimals: about a meter, what the server keeps.
        field.value = position.coords.latitude.toFixed(5) + ", " + position.coords.longitude.toFixed(5);
        if (status) {
          status.hidden = true;
        }
        button.disabled = false;
      },
      function () {
        if (status) {
          status.textContent = status.getAttribute("data-unavailable") || "";
          status.hidden = false;
        }
        button.disabled = false;
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 0 }
    );
  });
})();
