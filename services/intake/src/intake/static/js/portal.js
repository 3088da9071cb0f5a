/* Invite Users portal: small enhancements. Every page works fully without this file. */
(function () {
  "use strict";

  // Move focus to the error summary (or a flash banner) so screen readers announce it first.
  function focusProblem() {
    var target = document.querySelector("[data-error-summary]") || document.querySelector("[data-banner]");
    if (target) { target.focus(); }
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
    sendOnce();
    accountForm();
    heldButtons();
  });
})();
