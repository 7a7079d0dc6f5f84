#!/usr/bin/env python
"""Django's manage.py, for developers used to it; ``linli`` does the same."""

from linli.cli import main

if __name__ == "__main__":
    main()
