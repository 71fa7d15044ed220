// gomflow's pay page: copy buttons, the time left to pay, and the page showing the
// receipt by itself once the payment arrives (it asks the server every few seconds).
"use strict";
(function () {
  var sheet = document.querySelector(".sheet");
  if (!sheet) return;
  var locale = sheet.dataset.locale || "en";

  var copied = (document.querySelector(".copied") || {}).textContent || "Copied";
  document.querySelectorAll("button.copy").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = copied;
        button.classList.add("done");
        setTimeout(function () { button.textContent = label; button.classList.remove("done"); }, 1500);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(button.dataset.copy).then(done, function () {});
      }
    });
  });

  var clock = document.querySelector(".countdown");
  if (clock) {
    var due = Date.parse(clock.dataset.due);
    var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(locale, { numeric: "always" }) : null;
    var two = function (n) { return String(n).padStart(2, "0"); };
    var tick = function () {
      var left = Math.floor((due - Date.now()) / 1000);
      if (left <= 0) {
        clock.textContent = clock.dataset.closed;
        clock.classList.add("closed");
        return;
      }
      var days = Math.floor(left / 86400);
      var time = two(Math.floor(left / 3600) % 24) + ":" + two(Math.floor(left / 60) % 60) + ":" + two(left % 60);
      clock.textContent = days > 0 && relative ? relative.format(days, "day") + " · " + time : time;
      setTimeout(tick, 1000);
    };
    tick();
  }

  var status = sheet.dataset.status;
  var url = sheet.dataset.statusUrl;
  var waiting = document.querySelector(".waiting");
  if (waiting && url) {
    var ask = function () {
      fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (found) {
          if (found && found.status !== status) { window.location.reload(); return; }
          setTimeout(ask, 3000);
        }, function () { setTimeout(ask, 6000); });
    };
    setTimeout(ask, 3000);
  }
})();
