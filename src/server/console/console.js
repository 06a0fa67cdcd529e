// The ordo console's only script: live parts of a page are fetched again
// (the same page with ?partial=1) every two seconds; destructive forms ask
// for confirmation. Pages work without it.
"use strict";
(function () {
  const live = document.querySelector("[data-live]");
  if (live) {
    const refresh = async () => {
      const url = new URL(window.location.href);
      url.searchParams.set("partial", "1");
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (response.ok) {
          const html = await response.text();
          if (html !== live.innerHTML) live.innerHTML = html;
        }
      } catch (e) {
        // The server may be restarting: try again at the next tick.
      }
    };
    window.setInterval(refresh, 2000);
  }
  // A refused form: the first field in error gets the focus (and the view).
  const invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) invalid.focus();
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
})();
