"""Instructor demos: the reference next to the obvious-but-wrong implementation, on big inputs."""
