/* The certificate's 打印 button: the browser's own print dialog (the page has a print style). */
(function () {
  'use strict';
  var button = document.getElementById('print');
  if (!button || !window.print) { return; }
  button.hidden = false;
  button.addEventListener('click', function () { window.print(); });
}());
