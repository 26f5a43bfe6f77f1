/* The API documentation page: start the vendored Swagger UI on the live schema.
 *
 * A static file, not an inline script (the Content-Security-Policy allows the panel's own files
 * only). The schema URL and the CSRF token come from data- attributes of #swagger-ui; "Try it
 * out" sends the signed-in session's cookie, and Django wants the CSRF token on every write.
 */
(function () {
  "use strict";

  function start() {
    var el = document.getElementById("swagger-ui");
    if (!el || typeof window.SwaggerUIBundle !== "function") return;
    var csrf = el.getAttribute("data-csrf") || "";
    var safe = { GET: 1, HEAD: 1, OPTIONS: 1 };
    window.SwaggerUIBundle({
      url: el.getAttribute("data-schema-url"),
      domNode: el,
      deepLinking: true,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      displayRequestDuration: true,
      tryItOutEnabled: false,
      // No calls to swagger.io's online validator: Dom0 networks are often closed.
      validatorUrl: null,
      requestInterceptor: function (req) {
        // Only same-origin requests get the session's CSRF token.
        var target = new URL(req.url, window.location.href);
        if (target.origin === window.location.origin && !safe[(req.method || "GET").toUpperCase()]) {
          req.headers["X-CSRFToken"] = csrf;
        }
        return req;
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
