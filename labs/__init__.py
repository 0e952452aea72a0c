"""Your implementations: one package per project, generated from the course's reference."""
