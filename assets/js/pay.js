// Mounts Stripe's Payment Element on the payment page. Card data goes from the element to
// Stripe, never to berth; the booking is confirmed by Stripe's webhook, and Stripe sends the
// traveler back to the hold's page, which then shows the confirmation.
"use strict";
(function () {
  var form = document.getElementById("payment-form");
  if (!form) return;
  var message = document.getElementById("payment-message");
  var button = document.getElementById("payment-submit");
  if (typeof Stripe !== "function") {
    message.textContent = form.getAttribute("data-unavailable") || "The payment form could not load. Reload the page to try again.";
    return;
  }
  var stripe = Stripe(form.getAttribute("data-publishable-key"), { locale: form.getAttribute("data-locale") });
  var elements = stripe.elements({ clientSecret: form.getAttribute("data-client-secret") });
  elements.create("payment").mount("#payment-element");
  button.disabled = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    var back = new URL(form.getAttribute("data-return-url"), window.location.href).href;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: back } })
      .then(function (result) {
        // Only an error comes back here; success leaves for the return URL.
        if (result.error) message.textContent = result.error.message;
        button.disabled = false;
      });
  });
})();
