"""``python -m ganrestore`` (and ``torchrun -m ganrestore``) runs the command-line interface."""

from ganrestore.cli.entry import main

if __name__ == "__main__":
    main()
