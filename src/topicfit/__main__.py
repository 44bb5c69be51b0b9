"""``python -m topicfit``, so that ``torchrun -m topicfit train ...`` works."""

from .cli import main

raise SystemExit(main())
