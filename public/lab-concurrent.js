// Lab 12: fire N adds at the same moment, as N tabs would, then show what happened. The page works
// without this file (one slow add per click, in two tabs); the script only makes "at once" easy.
(() => {
  const button = document.querySelector("[data-fire]");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const n = Number(button.getAttribute("data-fire"));
    const before = Number(button.getAttribute("data-before"));
    const body = () => new URLSearchParams({ _csrf: button.getAttribute("data-csrf") });
    button.disabled = true;
    button.textContent = `Sending ${n} adds…`;
    const add = () =>
      fetch("/labs/12/add", { method: "POST", headers: { accept: "application/json" }, body: body(), credentials: "same-origin" }).then(
        (r) => r.ok,
        () => false,
      );
    const acked = (await Promise.all(Array.from({ length: n }, add))).filter(Boolean).length;
    location.assign(`/labs/12?sent=${n}&acked=${acked}&before=${before}`);
  });
})();
