"""The root of every error ganrestore reports to a user.

Anything raised as a :class:`GanrestoreError` carries a message that names the file, option or
plugin at fault and says what to do. The CLI prints it as one line and exits with code 2.
"""


class GanrestoreError(Exception):
    """An error caused by the user's input (a file, an option, a plugin), not by a bug."""
