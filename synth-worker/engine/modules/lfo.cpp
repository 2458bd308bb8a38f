// Placeholder: filled in by the module work.
