// Placeholder: engine core in progress.
