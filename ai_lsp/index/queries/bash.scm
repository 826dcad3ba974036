; Definitions chunked by ai-lsp.

(function_definition
  name: (word) @name) @definition.function
