// ESLint for the pages' scripts (scripts/test runs it): rules that catch real bugs, plus a ban on the DOM's HTML
// sinks, since user text (places, notes, labels) must only ever reach a page through textContent.
import js from "@eslint/js";
import globals from "globals";

const htmlSink = "builds DOM from HTML; create the nodes and set textContent instead";

export default [
  { ignores: ["static/map/vendor/**", "node_modules/**", "var/**", ".venv/**"] },
  { files: ["static/**/*.js"], ...js.configs.recommended },
  { files: ["eslint.config.mjs"], ...js.configs.recommended, languageOptions: { globals: { ...globals.node } } },
  {
    files: ["static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      // Leaflet (L) and Supercluster are classic scripts: a module that uses one says so in a /* global */ comment.
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "array-callback-return": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-self-compare": "error",
      "no-template-curly-in-string": "error",
      "no-unreachable-loop": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "all" }],
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: `innerHTML ${htmlSink}.` },
        { property: "outerHTML", message: `outerHTML ${htmlSink}.` },
        { property: "insertAdjacentHTML", message: `insertAdjacentHTML ${htmlSink}.` },
        { property: "setHTMLUnsafe", message: `setHTMLUnsafe ${htmlSink}.` },
        { property: "createContextualFragment", message: `createContextualFragment ${htmlSink}.` },
        { object: "document", property: "write", message: `document.write ${htmlSink}.` },
        { object: "document", property: "writeln", message: `document.writeln ${htmlSink}.` },
      ],
    },
  },
  {
    // Classic scripts: the service worker, and the outbox that both the report page and the worker load.
    files: ["static/report/sw.js", "static/report/queue.js"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: { ...globals.serviceworker },
    },
  },
  {
    files: ["static/report/queue.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
];
