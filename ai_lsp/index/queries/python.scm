; Definitions chunked by ai-lsp. Capture names: @definition.<kind> for the node, @name for its name.

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function
