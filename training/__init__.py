"""Training the emotion model on FER+ (`make train-emotion DATA=...`); never part of the
services or of `make test` (one smoke test trains a few steps on generated images)."""
