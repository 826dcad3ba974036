; Definitions chunked by ai-lsp. `function M.run()` and `function M:run()` keep the table name.

(function_declaration
  name: (_) @name) @definition.function

(assignment_statement
  (variable_list
    name: (_) @name)
  (expression_list
    value: (function_definition))) @definition.function
