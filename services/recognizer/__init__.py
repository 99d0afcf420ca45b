"""The recognizer: face embeddings, a gallery of enrolled people, identify and verify."""
