// Lab 11: show what scripts can see of the lab cookies. HttpOnly ones are missing here by design.
(() => {
  const out = document.querySelector("[data-document-cookie]");
  if (!out) return;
  const visible = document.cookie
    .split(";")
    .map((p) => p.trim())
    .filter((p) => /^(__Host-)?lab_/.test(p));
  out.textContent = visible.length ? visible.join("; ") : "(no lab cookie visible to scripts)";
})();
