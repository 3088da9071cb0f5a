/* An email field marked data-people-search suggests people as it is typed in, following the WAI-ARIA
   combobox pattern: arrows move through the list, Enter chooses, Escape closes, and a status line says
   how many were found. Without this file the field is a plain email field. */
(function () {
  "use strict";
  var SHORTEST = 2;
  var PAUSE_MS = 250;

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) { made.className = className; }
    if (text) { made.textContent = text; }
    return made;
  }

  function picker(input) {
    var listId = input.id + "-suggestions";
    var wrap = element("div", "suggest");
    var list = element("ul", "suggest__list");
    var status = element("div", "visually-hidden");
    var people = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    list.id = listId;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People found");
    list.hidden = true;
    status.setAttribute("role", "status");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(status);
    var hint = document.getElementById(input.id + "-hint");
    if (hint) { hint.textContent += " Or type the start of their name and choose them from the people found."; }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function move(to) {
      var options = list.children;
      active = (to + options.length) % options.length;
      for (var i = 0; i < options.length; i += 1) {
        options[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    function choose(index) {
      input.value = people[index].email;
      close();
      status.textContent = (people[index].name || people[index].email) + " chosen.";
    }

    function show(found) {
      people = found;
      list.textContent = "";
      found.forEach(function (person, index) {
        var option = element("li", "suggest__option");
        option.id = listId + "-" + index;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.appendChild(element("span", "suggest__name", person.name || person.email));
        if (person.name) { option.appendChild(element("span", "suggest__detail", person.email)); }
        if (person.organisation) { option.appendChild(element("span", "suggest__detail", person.organisation)); }
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
      });
      close();
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
      status.textContent = found.length === 0 ? "No people found." : found.length + (found.length === 1 ?
        " person found" : " people found") + ". Use the up and down arrows to choose.";
    }

    function ask() {
      var typed = input.value.trim();
      var mine = (asked += 1);
      fetch(input.dataset.peopleSearch + "?q=" + encodeURIComponent(typed),
            { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          return response.ok && json ? response.json() : null;
        })
        .then(function (body) {
          // only the answer to what is typed now: an earlier, slower one is dropped
          if (mine !== asked || input.value.trim() !== typed) { return; }
          if (body) { show(body.people || []); } else { forget(); }
        })
        .catch(forget);  // the field still takes any address typed in full
    }

    function forget() {
      people = [];
      close();
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      asked += 1;
      if (input.value.trim().length < SHORTEST) { forget(); return; }
      timer = setTimeout(ask, PAUSE_MS);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!people.length) { return; }
        event.preventDefault();
        if (!open) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        move(event.key === "ArrowDown" ? active + 1 : (active < 0 ? -1 : active - 1));
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();  // choosing is not sending the form
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) { return; }
    document.querySelectorAll("input[data-people-search]").forEach(picker);
  });
})();
