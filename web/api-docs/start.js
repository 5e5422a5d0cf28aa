// Swagger UI over pm's own OpenAPI document, on this origin (no inline script: the page's
// Content-Security-Policy allows scripts from pm alone).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
