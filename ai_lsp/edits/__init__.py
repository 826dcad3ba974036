"""AI edits: which edits to offer at a range (`offers`), the prompt that drafts one (`prompt`),
and the service that turns a model's answer or a drafted code block into changes (`service`)."""
