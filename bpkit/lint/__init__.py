"""The lint stage: the engine, the context rules see, and one module per rule (rules/)."""
