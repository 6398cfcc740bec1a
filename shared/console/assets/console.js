// Latchkey console: the copy buttons of one-time secrets. Everything else works without script;
// htmx (loaded beside this) only makes filters, marking read and job status swap in place.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  const status = button.closest("section")?.querySelector(".copied");
  input.select();
  const done = () => { if (status) status.textContent = "Copied to the clipboard."; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
