"""The GitHub boundary: the Actions environment, workflow commands and the REST API (PyGithub)."""
