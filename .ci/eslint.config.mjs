// Lint and format rules for src, test and bench: `npm run lint` checks, `npm run format` fixes.
// The formatter is dprint, run as the @effect/dprint rule with the settings Effect's own packages use.
import * as effect from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/*.mjs", "**/*.js", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effect.configs.dprint,
  {
    files: ["**/*.ts", "**/*.tsx"],
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 140,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "require-yield": "off",
      "no-throw-literal": "error",
      // The policy matches control characters on purpose: they are what it refuses.
      "no-control-regex": "off",
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }]
    }
  },
  {
    // Tests describe whole scenarios in one `describe`; the 80-line rule is for the server's own functions.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "max-lines-per-function": "off" }
  }
)
