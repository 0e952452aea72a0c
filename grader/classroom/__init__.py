"""Classroom and CI grading: the student release, batch grading of a class into a gradebook,
the Gradescope bundle and the GitHub Classroom workflow.

- ``release``: ``iolab release --out DIR``, the student copy (no solutions, fresh labs).
- ``submissions``: where the code is in a student's checkout, ``labs/`` folder or zip.
- ``limits``: per-submission resource limits, the submission's user, finding and killing its processes.
- ``worker`` / ``preflight``: the process that grades one submission, and its import check.
- ``gradebook``: ``iolab gradebook``: jobs, progress, rows, resume, shards; ``merge`` joins shards.
- ``feedback`` / ``summary``: per-student Markdown and HTML, the class summary and plots.
- ``bundle``: ``iolab gradescope-bundle`` and the code its ``run_autograder`` calls.
"""
