"""Running outside programs (suites, catdoc) in their own process groups, with a watch on
their memory: below every layer that starts one, so the corpus readers and the suites share it."""
