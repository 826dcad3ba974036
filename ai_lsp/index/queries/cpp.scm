; C++ additions to c.scm.

(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: (_) @name))) @definition.function

(class_specifier
  name: (_) @name
  body: (field_declaration_list)) @definition.class

(namespace_definition
  name: (_) @name) @definition.module
