"""The ``linli`` console command: Django's management commands with Linli's settings preselected.

``linli import residents FILE``, ``linli synth --out DIR``, ``linli demo`` and every Django command
(``linli migrate``, ``linli runserver``) go through here.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["linli", *argv])
    args[0] = "linli"
    if len(args) > 1 and args[1] == "import":
        # `import` is a Python keyword, so the management command is called import_data.
        args[1] = "import_data"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
