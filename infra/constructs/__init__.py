"""One construct per capability and file."""
