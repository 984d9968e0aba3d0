// Demo only: switch the hostile stylesheet on and off (a file, not an inline script, so
// the page's Content-Security-Policy can forbid inline scripts).
document.getElementById("hostile-toggle").addEventListener("change", function (e) {
  document.getElementById("hostile-css").disabled = !e.target.checked;
});
