/* Invite Users portal: small enhancements. Every page works fully without this file. */
(function () {
  "use strict";

  // Move focus to the error summary (or a flash banner) so screen readers announce it first. After an
  // edit or removal the address names the row worked on (#row-7): focus stays there, not at the top.
  function focusProblem() {
    var summary = document.querySelector("[data-error-summary]");
    var place = location.hash.length > 1 && document.getElementById(location.hash.slice(1));
    // a heading to scroll to, not to focus; a form's field (a check page's Change link: #email) is focused
    if (place && !place.hasAttribute("tabindex") && !place.matches("input, textarea, select")) { place = null; }
    var target = summary || place || document.querySelector("[data-banner]");
    if (target) { target.focus(); }
  }

  // A text box with a most-allowed length counts down below it; screen readers hear it once typing pauses.
  function characterCounts() {
    document.querySelectorAll("textarea[data-max-length]").forEach(function (box) {
      var max = parseInt(box.dataset.maxLength, 10);
      var shown = document.querySelector("[data-char-count='" + box.name + "']");
      var live = document.querySelector("[data-char-count-live='" + box.name + "']");
      var timer = null;
      if (!shown) { return; }
      function words() {
        // The server counts after trimming; a browser's line break is one character, as stored.
        var left = max - box.value.trim().length;
        var n = Math.abs(left).toLocaleString("en-SG");
        var noun = Math.abs(left) === 1 ? " character" : " characters";
        return left >= 0 ? "You have " + n + noun + " remaining" : "You have " + n + noun + " too many";
      }
      box.addEventListener("input", function () {
        shown.textContent = words();
        shown.classList.toggle("char-count--over", box.value.trim().length > max);
        clearTimeout(timer);
        if (live) { timer = setTimeout(function () { live.textContent = words(); }, 800); }
      });
    });
  }

  // A request whose cancellation or decision is on its way: fetch the page again until it has settled,
  // then swap in the new status panel and history and say what changed.
  function followSettling() {
    var panel = document.querySelector("[data-status-panel][data-settling]");
    if (!panel || !window.fetch || !window.DOMParser) { return; }
    var tries = 0;
    function check() {
      tries += 1;
      fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var newPanel = fresh.querySelector("[data-status-panel]");
          if (!newPanel) { return; }
          if (newPanel.hasAttribute("data-settling")) {
            if (tries < 60) { setTimeout(check, 1500); }
            return;
          }
          var current = document.querySelector("[data-status-panel]");
          current.replaceWith(document.importNode(newPanel, true));
          var history = document.querySelector("[data-history]");
          var newHistory = fresh.querySelector("[data-history]");
          if (history && newHistory) { history.replaceWith(document.importNode(newHistory, true)); }
          var state = newPanel.querySelector("dd");
          var live = document.querySelector("[data-status-live]");
          if (live && state) { live.textContent = "Updated: the TechPass state is now " + state.textContent.trim() + "."; }
        })
        .catch(function () { if (tries < 60) { setTimeout(check, 2000); } });
    }
    setTimeout(check, 1000);
  }

  // Narrow screens: the Menu link opens the navigation in place (without this script it jumps to it
  // and CSS shows it as the link's target).
  function compactMenu() {
    var toggle = document.querySelector("[data-menu-toggle]");
    var nav = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) { return; }
    toggle.setAttribute("role", "button");
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("sidebar--open", open);
      if (open) { var first = nav.querySelector("a"); if (first) { first.focus(); } }
    });
    toggle.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); toggle.click(); }  // a button also answers Space
    });
    nav.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && nav.classList.contains("sidebar--open")) { toggle.click(); toggle.focus(); }
    });
  }

  // A link in the error summary puts the caret in the field itself, not just the page at it.
  function linkSummaryToFields() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) { return; }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) { return; }
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) { return; }
      event.preventDefault();
      var legend = input.closest("fieldset") && input.closest("fieldset").querySelector("legend");
      var label = legend || document.querySelector("label[for='" + input.id + "']");
      (label || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  // A form marked data-once is sent once, however often its button is pressed.
  function sendOnce() {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent) { event.preventDefault(); return; }
        form.dataset.sent = "yes";
      });
    });
  }

  // Create account (and a batch row): the username is for vendors only, and an offshore vendor needs SEED.
  function accountForm() {
    var form = document.querySelector("[data-account-form]");
    if (!form) { return; }
    var vendorOnly = form.querySelectorAll("[data-vendor-only]");
    var seedYes = form.querySelector("input[name='seed_onboarding'][value='yes']");
    var seedNo = form.querySelector("input[name='seed_onboarding'][value='no']");

    function chosen(name) {
      var checked = form.querySelector("input[name='" + name + "']:checked");
      return checked ? checked.value : "";
    }

    function update() {
      var officer = chosen("user_type") === "public_officer";
      vendorOnly.forEach(function (field) {
        field.classList.toggle("field--disabled", officer);
        field.querySelectorAll("input").forEach(function (input) { input.disabled = officer; });
      });
      // The offshore box is a checkbox on the form and Yes/No radios on a batch row; both say "yes".
      var mustSeed = !officer && chosen("offshore") === "yes";
      if (mustSeed && seedYes) { seedYes.checked = true; }
      if (seedNo) { seedNo.disabled = mustSeed; }
    }

    form.addEventListener("change", function (event) {
      if (event.target.name === "user_type" || event.target.name === "offshore") { update(); }
    });
    update();
  }

  // A button marked aria-disabled explains beside it why it cannot be used yet; pressing it does nothing.
  function heldButtons() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("button[aria-disabled='true']");
      if (button) { event.preventDefault(); }
    });
  }

  // Requests to approve: "Select all on this page" ticks every row's box (without script, the server
  // reads the same box as "every request on this page"); unticking a row unticks it.
  function bulkSelection() {
    var form = document.querySelector("[data-bulk]");
    if (!form) { return; }
    var all = form.querySelector("[data-select-all]");
    var rows = form.querySelectorAll("[data-row-select]");
    all.addEventListener("change", function () {
      rows.forEach(function (box) { box.checked = all.checked; });
    });
    rows.forEach(function (box) {
      box.addEventListener("change", function () {
        if (!box.checked) { all.checked = false; }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bulkSelection();
    focusProblem();
    linkSummaryToFields();
    characterCounts();
    followSettling();
    compactMenu();
    sendOnce();
    accountForm();
    heldButtons();
  });
})();
