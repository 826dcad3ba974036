; Definitions chunked by ai-lsp.

(class
  name: (_) @name) @definition.class

(module
  name: (_) @name) @definition.module

(method
  name: (_) @name) @definition.method

(singleton_method
  name: (_) @name) @definition.method
