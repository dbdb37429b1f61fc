"""Quality gate: Great Expectations suites generated from the registry, scores per criterion."""
