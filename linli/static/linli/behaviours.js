// Small page behaviours declared in the markup, so that pages carry no inline script and the
// Content-Security-Policy can forbid it (script-src 'self'):
//   <select data-autosubmit>      submits its form when changed (the language switch)
//   <form data-confirm="text">    asks before submitting
//   <button data-print>           prints the page
"use strict";

document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
