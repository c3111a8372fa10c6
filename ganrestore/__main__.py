"""``python -m ganrestore`` (and ``torchrun -m ganrestore``) runs the command-line interface."""

from ganrestore.cli.app import main

if __name__ == "__main__":
    main()
