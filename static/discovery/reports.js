// Cloud Discovery reports: switch report/period as soon as one is chosen, and print the
// executive summary. Loaded as a file (the CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.report-bar select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
