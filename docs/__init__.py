"""The docs site (Sphinx, docs/conf.py); a package only so that pytest
imports docs/conftest.py as docs.conftest, beside tests/conftest.py."""
